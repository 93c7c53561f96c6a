# Generated from tests/_async/test_backends_agree.py by tools/generate_sync.py: do not edit.
"""PostgreSQL and MongoDB, given the same calls, give the same results (async source
of tests/_sync/test_backends_agree.py).

Each test runs one scenario on a store of each backend, one after the other, and
compares what came back. Ids differ between backends (each store makes its own),
so an id, and a reference to one (``agent_id``, ``vault_id``), is compared as the
name the scenario gave the entity it identifies; the timestamps a backend sets
itself (``created_at``, ``updated_at``, ``acknowledged_at``, ``resolved_at``,
``last_triggered_at``) are left out. Everything else must be equal, and a Decimal
must also keep the same digits (``str()``): 59.5 stays "59.5" on both.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol, TypeVar, cast

import attrs
import pytest

from vaultstore import (
    AlertSeverity,
    AlertType,
    ChainId,
    ChainRiskSummary,
    LiquidationProtection,
    NewMarketData,
    Page,
    TokenAmount,
    VaultStoreError,
)
from vaultstore._sync.connect import connect
from vaultstore._sync.contracts import Store


class HasId(Protocol):
    @property
    def id(self) -> str: ...


E = TypeVar("E", bound=HasId)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SET_BY_THE_BACKEND = frozenset(
    {"created_at", "updated_at", "acknowledged_at", "resolved_at", "last_triggered_at"}
)
REFERENCES = frozenset({"id", "agent_id", "vault_id"})
UNKNOWN_ID = "01UNKNOWNID000000000000000"
MAX_PAGES = 50
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


class Backend:
    """A store, and the names a scenario gave what it created there."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.names: dict[str, str] = {}
        self.created: dict[str, Any] = {}
        """Each entity as ``create`` returned it, by the name the scenario gave it."""

    def named(self, name: str, entity: E) -> E:
        self.names[entity.id] = name
        self.created[name] = entity
        return entity

    def id_of(self, name: str) -> str:
        return str(self.created[name].id)

    def names_in(self, entities: Any) -> list[str]:
        return [self.names.get(e.id, f"unnamed {e.id}") for e in entities]

    def shape(self, value: Any) -> Any:  # noqa: PLR0911 - one return per kind of value
        """``value`` as it is compared across backends: ids as names, the backend's
        own timestamps left out, and every leaf tagged with its type (a Decimal
        with its exact digits, so that "59.50" differs from "59.5")."""
        if attrs.has(type(value)):
            return (
                type(value).__name__,
                {
                    field.name: self._field(field.name, getattr(value, field.name))
                    for field in attrs.fields(type(value))
                    if field.name not in SET_BY_THE_BACKEND
                },
            )
        if isinstance(value, Page):
            return {
                "items": [self.shape(item) for item in value],
                "more": value.next_cursor is not None,
            }
        if isinstance(value, dict):
            return {key: self.shape(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.shape(item) for item in value]
        if isinstance(value, Decimal):
            return ("Decimal", str(value))
        if isinstance(value, Enum):
            return (type(value).__name__, value.value)
        if isinstance(value, datetime):
            return ("datetime", value.isoformat())
        if value is None:
            return None
        return (type(value).__name__, value)

    def _field(self, name: str, value: Any) -> Any:
        if name in REFERENCES and isinstance(value, str):
            return ("id of", self.names.get(value, f"unnamed {value}"))
        return self.shape(value)


@pytest.fixture
def backends(clean_db: str, clean_mongo: str) -> Iterator[list[Backend]]:
    """An open store on an empty database of each backend: PostgreSQL, then MongoDB."""
    with (
        connect(clean_db, pool_size=2) as postgres,
        connect(clean_mongo, pool_size=2) as mongo,
    ):
        assert (postgres.backend, mongo.backend) == ("postgresql", "mongodb")
        yield [Backend(postgres), Backend(mongo)]


class Scenario(Protocol):
    def __call__(self, backend: Backend, /) -> Any: ...


def on_each(backends: list[Backend], scenario: Scenario) -> list[Any]:
    """What ``scenario`` returns on each backend, PostgreSQL first."""
    return [scenario(backend) for backend in backends]


class Listing(Protocol):
    def __call__(self, after: str | None, /) -> Page[Any]: ...


def every_page(listing: Listing) -> list[Page[Any]]:
    """Every page of a listing, following ``next_cursor`` from the first."""
    pages = [listing(None)]
    for _ in range(MAX_PAGES):
        cursor = pages[-1].next_cursor
        if cursor is None:
            return pages
        pages.append(listing(cursor))
    pytest.fail(f"more than {MAX_PAGES} pages: the cursor does not move on")


def describe(exc: VaultStoreError) -> tuple[Any, ...]:
    """What is compared of an error: its class and what it names."""
    return (
        type(exc).__name__,
        getattr(exc, "field", None),
        getattr(exc, "entity", None),
        getattr(exc, "id", None),
    )


def outcome(backend: Backend, attempt: Scenario) -> tuple[Any, ...]:
    """The error ``attempt`` raises, described; or what it returned, if it did not."""
    try:
        result = attempt(backend)
    except VaultStoreError as exc:
        return describe(exc)
    except Exception as exc:  # noqa: BLE001 - a driver's error escaping is a difference too
        return ("escaped", type(exc).__name__, str(exc))
    return ("returned", backend.shape(result))


# -- the world every comparison starts from ----------------------------------------------


def tokens(token: str, amount: Any, value_usd: Any) -> TokenAmount:
    return TokenAmount(token=token, amount=amount, value_usd=value_usd)


def vault_fields(chain_id: ChainId | int, ltv: Any, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "chain_id": chain_id,
        "collateral": tokens("ETH", "10", "20000.00"),
        "debt": tokens("USDC", "0.10", "10000"),
        "ltv": ltv,
        "health_factor": "1.5",
        "max_ltv": "100",
        "liquidation_protection": LiquidationProtection(enabled=True, threshold=59.5),
    }
    fields.update(overrides)
    return fields


THIRTY_FOUR_DIGITS = "1234567890123456789012345678901234"

VAULTS: list[tuple[str, str, dict[str, Any]]] = [
    # (name, agent, fields); three vaults tie on an LTV of 80, written three ways
    ("eth-a", "alpha", vault_fields(ChainId.ETHEREUM, "80", health_factor=2.0, max_ltv=85)),
    ("eth-b", "alpha", vault_fields(ChainId.ETHEREUM, "80.0", health_factor="1E-30")),
    (
        "eth-c",
        "beta",
        vault_fields(
            ChainId.ETHEREUM,
            "95.125",
            collateral=tokens("WBTC", THIRTY_FOUR_DIGITS, "30000.5"),
        ),
    ),
    ("base-a", "alpha", vault_fields(ChainId.BASE, "80.00", status="at_risk")),
    ("base-b", "beta", vault_fields(ChainId.BASE, 12.5, health_factor="0.10")),
    ("arb-a", "beta", vault_fields(ChainId.ARBITRUM, 0, max_ltv=Decimal("59.50"))),
    ("eth-d", "alpha", vault_fields(ChainId.ETHEREUM, "79.999999999999999999999999999990")),
    ("eth-e", "beta", vault_fields(ChainId.ETHEREUM, "101.5", status="liquidating")),
    ("base-c", "alpha", vault_fields(ChainId.BASE, Decimal("90.50"))),
]

ALERTS: list[tuple[str, str, AlertType, AlertSeverity, str]] = [
    ("alert-open", "eth-a", AlertType.LTV_WARNING, AlertSeverity.HIGH, "LTV 80%"),
    ("alert-acked", "eth-a", AlertType.LTV_CRITICAL, AlertSeverity.CRITICAL, "LTV 95%"),
    ("alert-resolved", "eth-a", AlertType.PRICE_DROP, AlertSeverity.HIGH, "ETH -10% ✓ 😀"),
    ("alert-base", "base-a", AlertType.LIQUIDATION_RISK, AlertSeverity.HIGH, "close to it"),
]

PARIS_SUMMER = timezone(timedelta(hours=2))

LIQUIDATIONS: list[tuple[str, str, datetime, str]] = [
    # (name, vault, occurred_at, tx_hash); two happen at the same moment
    ("liq-0", "eth-c", T0, "0x00"),
    ("liq-1", "eth-c", T0 + timedelta(hours=1), "0x01"),
    ("liq-1b", "eth-c", T0 + timedelta(hours=1), "0x1b"),
    ("liq-2", "eth-c", datetime(2026, 1, 1, 4, 0, 0, 123456, tzinfo=PARIS_SUMMER), "0x02"),
    ("liq-3", "eth-c", T0 + timedelta(hours=3), "0x03"),
    ("liq-e", "eth-e", T0 + timedelta(minutes=90), "0x0e"),
]

CONDITIONS = {
    "ltv_gte": 85,
    "chain": "ethereum",
    "ratio": 0.5,
    "tags": ["a", None],
    "nested": {"x": True},
    "objs": [{"k": 1, "j": 2}],
}


def price(
    token: str, chain_id: ChainId, minutes: int, price_usd: Any, **more: Any
) -> NewMarketData:
    record = {
        "token": token,
        "chain_id": chain_id,
        "price_usd": price_usd,
        "recorded_at": T0 + timedelta(minutes=minutes),
        **more,
    }
    return cast("NewMarketData", record)


PRICES: list[tuple[str, NewMarketData]] = [
    ("eth-0", price("ETH", ChainId.ETHEREUM, 0, "2000.00", volume_24h_usd="1E-30")),
    ("eth-1", price("ETH", ChainId.ETHEREUM, 1, "2001.10", market_cap_usd=THIRTY_FOUR_DIGITS)),
    ("eth-2", price("ETH", ChainId.ETHEREUM, 2, 1999.9)),
    ("eth-3", price("ETH", ChainId.ETHEREUM, 3, Decimal("2003.300"))),
    ("eth-4", price("ETH", ChainId.ETHEREUM, 4, 2004)),
    # two sources at the same moment: the later one written is the latest price
    ("eth-5-feed", price("ETH", ChainId.ETHEREUM, 5, "2005.5", source="feed")),
    ("eth-5-oracle", price("ETH", ChainId.ETHEREUM, 5, "2005.55", source="oracle")),
    ("eth-base", price("ETH", ChainId.BASE, 24 * 60, "1")),
    ("sol-feed", price("SOL", ChainId.ETHEREUM, 7, "150.5", source="feed")),
    ("sol-oracle", price("SOL", ChainId.ETHEREUM, 7, "150.50", source="oracle")),
    ("btc-0", price("BTC", ChainId.ETHEREUM, 0, "90000.12345678")),
]
BULK_PRICES: list[NewMarketData] = [
    price("ETH", ChainId.ETHEREUM, 10 + i, f"{2010 + i}.{i}0", source="bulk") for i in range(5)
]


def seed(b: Backend) -> None:
    """Create the same agents, vaults, alerts, liquidations, rules and prices."""
    store = b.store
    b.named("alpha", store.agents.create(name="alpha", credibility_score=720))
    b.named("beta", store.agents.create(name="bêta ✓", credibility_score=399))
    for name, agent, fields in VAULTS:
        b.named(name, store.vaults.create(agent_id=b.id_of(agent), **fields))
    for name, vault, alert_type, severity, message in ALERTS:
        alert = store.alerts.create(
            vault_id=b.id_of(vault), alert_type=alert_type, severity=severity, message=message
        )
        b.named(name, alert)
    for name, vault, occurred_at, tx_hash in LIQUIDATIONS:
        event = store.liquidations.create(
            vault_id=b.id_of(vault),
            chain_id=ChainId.ETHEREUM,
            collateral_seized=tokens("WBTC", "1.5", "3000.00"),
            debt_repaid=tokens("USDC", 2800, "2800"),
            ltv="86.1",
            health_factor=0.97,
            liquidator="0xabc",
            tx_hash=tx_hash,
            occurred_at=occurred_at,
        )
        b.named(name, event)
    rules: list[tuple[str, dict[str, Any]]] = [
        ("repay", {"conditions": CONDITIONS, "actions": [{"type": "repay", "percent": 25}]}),
        ("notify", {"conditions": {"ltv_gte": 70}, "actions": [{}], "cooldown": 0, "priority": 10}),
        ("off", {"conditions": {}, "actions": [], "enabled": False, "priority": 1000}),
    ]
    for name, fields in rules:
        rule = store.protection_rules.create(vault_id=b.id_of("eth-a"), name=name, **fields)
        b.named(name, rule)
    for name, record in PRICES:
        b.named(name, store.market_data.create(**record))
    assert store.market_data.bulk_insert(BULK_PRICES) == len(BULK_PRICES)
    # bulk_insert returns a count: name the prices it stored by when they were recorded
    bulk = store.market_data.history("ETH", ChainId.ETHEREUM, since=T0 + 10 * MINUTE)
    assert [record.recorded_at for record in bulk] == [p["recorded_at"] for p in BULK_PRICES]
    for i, stored in enumerate(bulk):
        b.named(f"bulk-{i}", stored)


def repository_of(store: Store, entity: Any) -> Any:
    return {
        "Agent": store.agents,
        "CreditVault": store.vaults,
        "RiskAlert": store.alerts,
        "LiquidationEvent": store.liquidations,
        "ProtectionRule": store.protection_rules,
        "MarketData": store.market_data,
    }[type(entity).__name__]


# -- entities --------------------------------------------------------------------------


@pytest.mark.parametrize("which", [0, 1], ids=["postgresql", "mongodb"])
def test_every_created_entity_reads_back_equal_to_what_create_returned(
    backends: list[Backend], which: int
) -> None:
    b = backends[which]
    seed(b)
    different = []
    for name, entity in b.created.items():
        if repository_of(b.store, entity).find_by_id(entity.id) != entity:
            different.append(name)
    assert (different, len(b.created)) == ([], 40)


def test_created_entities_agree_field_by_field(backends: list[Backend]) -> None:
    def scenario(b: Backend) -> Any:
        seed(b)
        return {name: b.shape(entity) for name, entity in b.created.items()}

    postgres, mongo = on_each(backends, scenario)
    assert postgres == mongo


def test_entities_read_back_agree_field_by_field(backends: list[Backend]) -> None:
    def scenario(b: Backend) -> Any:
        seed(b)
        return {
            name: b.shape(repository_of(b.store, entity).find_by_id(entity.id))
            for name, entity in b.created.items()
        }

    postgres, mongo = on_each(backends, scenario)
    assert postgres == mongo


def test_decimals_keep_the_digits_they_were_written_with_on_both(
    backends: list[Backend],
) -> None:
    def scenario(b: Backend) -> Any:
        seed(b)
        vault = b.store.vaults.find_by_id(b.id_of("eth-c"))
        eth_a = b.store.vaults.find_by_id(b.id_of("eth-a"))
        eth_b = b.store.vaults.find_by_id(b.id_of("eth-b"))
        eth_d = b.store.vaults.find_by_id(b.id_of("eth-d"))
        assert vault is not None
        assert eth_a is not None
        assert eth_b is not None
        assert eth_d is not None
        return [
            str(vault.ltv),
            str(vault.collateral.amount),
            str(vault.debt.amount),
            str(vault.liquidation_protection.threshold),
            str(eth_a.health_factor),
            str(eth_b.health_factor),
            str(eth_d.ltv),
        ]

    postgres, mongo = on_each(backends, scenario)
    assert postgres == mongo
    assert postgres == [
        "95.125",
        THIRTY_FOUR_DIGITS,
        "0.10",
        "59.5",
        "2.0",
        "1E-30",
        "79.999999999999999999999999999990",
    ]


def test_a_decimal_written_with_a_positive_exponent_reads_back_alike(
    backends: list[Backend],
) -> None:
    def scenario(b: Backend) -> Any:
        record = b.store.market_data.create(token="ETH", chain_id=1, price_usd="1E+3")
        found = b.store.market_data.find_by_id(record.id)
        assert found is not None
        return (str(record.price_usd), str(found.price_usd))

    postgres, mongo = on_each(backends, scenario)
    assert postgres == mongo


def test_a_float_in_rule_conditions_reads_back_alike(backends: list[Backend]) -> None:
    def scenario(b: Backend) -> Any:
        small_world(b)
        rule = b.store.protection_rules.create(
            vault_id=b.id_of("vault"),
            name="floats",
            conditions={"big": 1e15, "small": 2.5e-7, "whole": 3.0},
            actions=[],
        )
        found = b.store.protection_rules.find_by_id(rule.id)
        assert found is not None
        return b.shape(found.conditions)

    postgres, mongo = on_each(backends, scenario)
    assert postgres == mongo


# -- listings: pages and orderings -------------------------------------------------------


@pytest.mark.parametrize(
    "threshold", [80, "80", 80.0, Decimal("80.000")], ids=["int", "str", "float", "Decimal"]
)
def test_high_risk_vault_pages_agree_with_ties_on_ltv(
    backends: list[Backend], threshold: Any
) -> None:
    def scenario(b: Backend) -> Any:
        seed(b)

        def listing(after: str | None) -> Page[Any]:
            return b.store.vaults.find_high_risk_vaults(threshold, limit=2, after=after)

        pages = every_page(listing)
        return [b.names_in(page) for page in pages], b.shape(pages)

    (postgres_names, postgres), (_, mongo) = on_each(backends, scenario)
    assert postgres == mongo
    assert postgres_names == [["eth-e", "eth-c"], ["base-c", "base-a"], ["eth-b", "eth-a"]]


@pytest.mark.parametrize("limit", [1, 3])
def test_vaults_by_chain_pages_agree(backends: list[Backend], limit: int) -> None:
    def scenario(b: Backend) -> Any:
        seed(b)

        def listing(after: str | None) -> Page[Any]:
            return b.store.vaults.find_by_chain_id(ChainId.ETHEREUM, limit=limit, after=after)

        pages = every_page(listing)
        return [name for page in pages for name in b.names_in(page)], b.shape(pages)

    (postgres_names, postgres), (_, mongo) = on_each(backends, scenario)
    assert postgres == mongo
    assert postgres_names == ["eth-a", "eth-b", "eth-c", "eth-d", "eth-e"]


def test_vaults_by_agent_agree(backends: list[Backend]) -> None:
    def scenario(b: Backend) -> Any:
        seed(b)
        return b.shape(b.store.vaults.find_by_agent_id(b.id_of("beta")))

    postgres, mongo = on_each(backends, scenario)
    assert postgres == mongo


TIME_RANGES = [
    (None, None),
    (T0 + HOUR, None),
    (None, T0 + 2 * HOUR),
    (T0 + HOUR, T0 + 3 * HOUR),
    (T0 + HOUR, T0 + HOUR),
    (T0 + 10 * HOUR, T0 + 11 * HOUR),
]


def range_id(value: datetime | None) -> str:
    return "open" if value is None else value.strftime("%H:%M")


@pytest.mark.parametrize(("since", "until"), TIME_RANGES, ids=range_id)
def test_liquidations_of_a_vault_over_a_time_range_agree(
    backends: list[Backend], since: datetime | None, until: datetime | None
) -> None:
    def scenario(b: Backend) -> Any:
        seed(b)

        def listing(after: str | None) -> Page[Any]:
            return b.store.liquidations.find_by_vault(
                b.id_of("eth-c"), since=since, until=until, limit=2, after=after
            )

        return b.shape(every_page(listing))

    postgres, mongo = on_each(backends, scenario)
    assert postgres == mongo


def test_liquidations_of_a_vault_are_oldest_first_on_both(backends: list[Backend]) -> None:
    def scenario(b: Backend) -> Any:
        seed(b)
        return b.names_in(b.store.liquidations.find_by_vault(b.id_of("eth-c")))

    postgres, mongo = on_each(backends, scenario)
    assert postgres == mongo == ["liq-0", "liq-1", "liq-1b", "liq-2", "liq-3"]


@pytest.mark.parametrize("limit", [1, 3])
def test_liquidations_between_two_times_agree(backends: list[Backend], limit: int) -> None:
    def scenario(b: Backend) -> Any:
        seed(b)

        def listing(after: str | None) -> Page[Any]:
            return b.store.liquidations.find_between(
                T0 + HOUR, T0 + 3 * HOUR, limit=limit, after=after
            )

        pages = every_page(listing)
        return [name for page in pages for name in b.names_in(page)], b.shape(pages)

    (postgres_names, postgres), (_, mongo) = on_each(backends, scenario)
    assert postgres == mongo
    assert postgres_names == ["liq-1", "liq-1b", "liq-e", "liq-2"]


@pytest.mark.parametrize(
    ("since", "until"),
    [
        (None, None),
        (T0 + 2 * MINUTE, T0 + 12 * MINUTE),
        (T0 + 5 * MINUTE, T0 + 6 * MINUTE),
        (None, T0),
    ],
    ids=range_id,
)
def test_market_history_pages_agree(
    backends: list[Backend], since: datetime | None, until: datetime | None
) -> None:
    def scenario(b: Backend) -> Any:
        seed(b)

        def listing(after: str | None) -> Page[Any]:
            return b.store.market_data.history(
                "ETH", ChainId.ETHEREUM, since=since, until=until, limit=3, after=after
            )

        return b.shape(every_page(listing))

    postgres, mongo = on_each(backends, scenario)
    assert postgres == mongo


@pytest.mark.parametrize(
    ("token", "chain_id"),
    [
        ("ETH", ChainId.ETHEREUM),
        ("ETH", 8453),
        ("BTC", ChainId.ETHEREUM),
        ("SOL", ChainId.ETHEREUM),
        ("DOGE", 1),
    ],
)
def test_latest_price_agrees(backends: list[Backend], token: str, chain_id: int) -> None:
    def scenario(b: Backend) -> Any:
        seed(b)
        return b.shape(b.store.market_data.latest_price(token, chain_id))

    postgres, mongo = on_each(backends, scenario)
    assert postgres == mongo


def test_latest_price_of_a_tie_on_time_is_the_last_written_on_both(
    backends: list[Backend],
) -> None:
    def scenario(b: Backend) -> Any:
        seed(b)
        latest = b.store.market_data.latest_price("SOL", ChainId.ETHEREUM)
        return None if latest is None else b.names[latest.id]

    postgres, mongo = on_each(backends, scenario)
    assert postgres == mongo == "sol-oracle"


def test_every_price_list_page_agrees(backends: list[Backend]) -> None:
    def scenario(b: Backend) -> Any:
        seed(b)

        def listing(after: str | None) -> Page[Any]:
            return b.store.market_data.list(limit=4, after=after)

        return b.shape(every_page(listing))

    postgres, mongo = on_each(backends, scenario)
    assert postgres == mongo


def test_agents_by_tier_and_name_agree(backends: list[Backend]) -> None:
    def scenario(b: Backend) -> Any:
        seed(b)
        return [
            b.shape(b.store.agents.find_by_tier("good")),
            b.shape(b.store.agents.find_by_tier("poor")),
            b.shape(b.store.agents.find_by_tier("excellent")),
            b.shape(b.store.agents.find_by_name("bêta ✓")),
            b.shape(b.store.agents.find_by_name("nobody")),
        ]

    postgres, mongo = on_each(backends, scenario)
    assert postgres == mongo


def test_alert_listings_agree_after_acknowledging_and_resolving(
    backends: list[Backend],
) -> None:
    def scenario(b: Backend) -> Any:
        seed(b)
        b.store.alerts.acknowledge(b.id_of("alert-acked"))
        b.store.alerts.resolve(b.id_of("alert-resolved"))
        alerts = b.store.alerts
        return [
            b.shape(alerts.find_by_vault(b.id_of("eth-a"))),
            b.shape(alerts.find_open_by_vault(b.id_of("eth-a"))),
            b.shape(alerts.find_open_by_severity(AlertSeverity.HIGH)),
            b.shape(alerts.find_open_by_severity("critical")),
            b.shape(alerts.find_open_by_severity("low")),
        ]

    postgres, mongo = on_each(backends, scenario)
    assert postgres == mongo


def test_enabled_rules_of_a_vault_agree(backends: list[Backend]) -> None:
    def scenario(b: Backend) -> Any:
        seed(b)
        return b.shape(b.store.protection_rules.find_enabled_for_vault(b.id_of("eth-a")))

    postgres, mongo = on_each(backends, scenario)
    assert postgres == mongo


CONTAINMENT_QUERIES: list[dict[str, Any]] = [
    {},
    {"ltv_gte": 85},
    {"ltv_gte": 85.0},
    {"chain": "ethereum"},
    {"chain": ["ethereum"]},
    {"tags": "a"},
    {"tags": ["a"]},
    {"tags": [None]},
    {"tags": []},
    {"nested": {}},
    {"nested": {"x": True}},
    {"objs": [{"k": 1}]},
    {"objs": [{}]},
    {"missing": None},
    {"ratio": 0.5, "chain": "ethereum"},
]


@pytest.mark.parametrize("query", CONTAINMENT_QUERIES, ids=str)
def test_rules_found_by_conditions_agree(
    backends: list[Backend], query: dict[str, Any]
) -> None:
    def scenario(b: Backend) -> Any:
        small_world(b)
        repay = b.store.protection_rules.create(
            vault_id=b.id_of("vault"), name="repay-on", conditions=CONDITIONS, actions=[]
        )
        b.named("repay-on", repay)
        # a rule whose values are the array and scalar forms of "repay-on"'s
        lookalike = b.store.protection_rules.create(
            vault_id=b.id_of("vault"),
            name="lookalike",
            conditions={"chain": ["ethereum", "base"], "tags": "a", "objs": {"k": 1}},
            actions=[],
        )
        b.named("lookalike", lookalike)
        return b.names_in(b.store.protection_rules.find_by_conditions(query))

    postgres, mongo = on_each(backends, scenario)
    assert postgres == mongo


def test_state_changes_return_the_same_entities(backends: list[Backend]) -> None:
    def scenario(b: Backend) -> Any:
        seed(b)
        store = b.store
        return [
            b.shape(store.alerts.acknowledge(b.id_of("alert-acked"))),
            b.shape(store.alerts.acknowledge(b.id_of("alert-acked"))),
            b.shape(store.alerts.resolve(b.id_of("alert-resolved"))),
            b.shape(store.alerts.update(b.id_of("alert-open"), severity="low")),
            b.shape(store.protection_rules.mark_triggered(b.id_of("repay"))),
            b.shape(store.protection_rules.mark_triggered(b.id_of("repay"))),
            b.shape(store.protection_rules.mark_triggered(b.id_of("off"))),
            b.shape(store.vaults.update_vault_metrics(b.id_of("eth-a"), "81.50", 1.25)),
            b.shape(store.vaults.update(b.id_of("eth-b"), max_ltv="90.0", status="closed")),
            b.shape(store.agents.update(b.id_of("beta"), credibility_score=800)),
            b.shape(store.liquidations.update(b.id_of("liq-0"), penalty_usd="12.340")),
            b.shape(store.market_data.update(b.id_of("eth-0"), market_cap_usd=None)),
        ]

    postgres, mongo = on_each(backends, scenario)
    assert postgres == mongo


# -- aggregates ---------------------------------------------------------------------------


def summary_numbers(summaries: list[ChainRiskSummary]) -> list[tuple[Any, ...]]:
    """The figures of a risk summary, compared as numbers (Decimal == Decimal)."""
    return [
        (
            s.chain_id,
            s.vault_count,
            s.total_collateral_usd,
            s.total_debt_usd,
            s.average_ltv,
            s.at_risk_count,
        )
        for s in summaries
    ]


def test_risk_summary_by_chain_numbers_agree(backends: list[Backend]) -> None:
    def scenario(b: Backend) -> Any:
        seed(b)
        return summary_numbers(b.store.vaults.risk_summary_by_chain(80))

    postgres, mongo = on_each(backends, scenario)
    assert postgres == mongo
    assert [(chain, count, at_risk) for chain, count, *_, at_risk in postgres] == [
        (ChainId.ETHEREUM, 5, 4),
        (ChainId.BASE, 3, 2),
        (ChainId.ARBITRUM, 1, 0),
    ]


def test_risk_summary_of_an_empty_database_agrees(backends: list[Backend]) -> None:
    def scenario(b: Backend) -> Any:
        return summary_numbers(b.store.vaults.risk_summary_by_chain(80))

    postgres, mongo = on_each(backends, scenario)
    assert postgres == mongo == []


def test_an_average_ltv_that_does_not_terminate_agrees(backends: list[Backend]) -> None:
    def scenario(b: Backend) -> Any:
        agent = b.store.agents.create(name="thirds", credibility_score=1)
        for ltv in ("1", "2", "2"):
            b.store.vaults.create(agent_id=agent.id, **vault_fields(ChainId.BASE, ltv))
        (summary,) = b.store.vaults.risk_summary_by_chain(80)
        return summary.average_ltv

    postgres, mongo = on_each(backends, scenario)
    assert postgres == mongo


def test_totals_beyond_34_digits_are_exact_on_postgresql_and_rounded_on_mongodb(
    backends: list[Backend],
) -> None:
    """A documented difference: MongoDB sums in Decimal128, which keeps 34 digits."""

    def scenario(b: Backend) -> Any:
        agent = b.store.agents.create(name="rich", credibility_score=1)
        for value_usd in (THIRTY_FOUR_DIGITS, "0.1"):
            collateral = tokens("ETH", "1", value_usd)
            fields = vault_fields(ChainId.BASE, "50", collateral=collateral)
            b.store.vaults.create(agent_id=agent.id, **fields)
        (summary,) = b.store.vaults.risk_summary_by_chain(80)
        return summary.total_collateral_usd

    postgres, mongo = on_each(backends, scenario)
    assert postgres == Decimal(THIRTY_FOUR_DIGITS + ".1")
    assert mongo == decimal.Context(prec=34).plus(postgres)


# -- errors ---------------------------------------------------------------------------


def small_world(b: Backend) -> None:
    """An agent with a vault, which has an alert, a rule and a liquidation."""
    store = b.store
    agent = b.named("alpha", store.agents.create(name="alpha", credibility_score=720))
    vault = b.named(
        "vault", store.vaults.create(agent_id=agent.id, **vault_fields(ChainId.BASE, 50))
    )
    alert = store.alerts.create(
        vault_id=vault.id, alert_type="ltv_warning", severity="high", message="LTV 75%"
    )
    b.named("alert", alert)
    rule = store.protection_rules.create(
        vault_id=vault.id, name="repay", conditions={}, actions=[]
    )
    b.named("rule", rule)
    event = store.liquidations.create(
        vault_id=vault.id,
        chain_id=ChainId.BASE,
        collateral_seized=tokens("ETH", "1.5", "3000"),
        debt_repaid=tokens("USDC", "2800", "2800"),
        ltv="86.1",
        health_factor="0.97",
        liquidator="0xabc",
        tx_hash="0x01",
        occurred_at=T0,
    )
    b.named("liquidation", event)
    b.named("price", store.market_data.create(token="ETH", chain_id=1, price_usd=1))


def failures(backends: list[Backend], attempt: Scenario) -> list[tuple[Any, ...]]:
    """How ``attempt`` fails on each backend, after building the small world."""

    def scenario(b: Backend) -> Any:
        small_world(b)
        return outcome(b, attempt)

    return on_each(backends, scenario)


def test_a_vault_for_an_unknown_agent_fails_alike(backends: list[Backend]) -> None:
    def attempt(b: Backend) -> Any:
        return b.store.vaults.create(
            agent_id=UNKNOWN_ID, **vault_fields(ChainId.ETHEREUM, 50)
        )

    postgres, mongo = failures(backends, attempt)
    assert postgres == mongo
    assert postgres[0] == "NotFoundError"


def test_a_duplicate_agent_name_fails_alike(backends: list[Backend]) -> None:
    def attempt(b: Backend) -> Any:
        return b.store.agents.create(name="alpha", credibility_score=1)

    postgres, mongo = failures(backends, attempt)
    assert postgres == mongo
    assert postgres[0] == "ConflictError"


def test_deleting_an_agent_with_vaults_fails_alike(backends: list[Backend]) -> None:
    def attempt(b: Backend) -> Any:
        return b.store.agents.delete(b.id_of("alpha"))

    postgres, mongo = failures(backends, attempt)
    assert postgres == mongo
    assert postgres[0] == "ConflictError"


def test_deleting_a_vault_with_liquidations_fails_alike(backends: list[Backend]) -> None:
    def attempt(b: Backend) -> Any:
        return b.store.vaults.delete(b.id_of("vault"))

    postgres, mongo = failures(backends, attempt)
    assert postgres == mongo
    assert postgres[0] == "ConflictError"


def test_acknowledging_a_resolved_alert_fails_alike(backends: list[Backend]) -> None:
    def attempt(b: Backend) -> Any:
        b.store.alerts.resolve(b.id_of("alert"))
        return b.store.alerts.acknowledge(b.id_of("alert"))

    postgres, mongo = failures(backends, attempt)
    assert postgres == mongo
    assert postgres[0] == "ConflictError"


def test_a_duplicate_liquidation_fails_alike(backends: list[Backend]) -> None:
    def attempt(b: Backend) -> Any:
        return b.store.liquidations.create(
            vault_id=b.id_of("vault"),
            chain_id=ChainId.BASE,
            collateral_seized=tokens("ETH", "1", "1"),
            debt_repaid=tokens("USDC", "1", "1"),
            ltv=90,
            health_factor=0.9,
            liquidator="0xdef",
            tx_hash="0x01",
            occurred_at=T0 + HOUR,
        )

    postgres, mongo = failures(backends, attempt)
    assert postgres == mongo
    assert postgres[0] == "ConflictError"


def test_a_duplicate_rule_name_on_a_vault_fails_alike(backends: list[Backend]) -> None:
    def attempt(b: Backend) -> Any:
        return b.store.protection_rules.create(
            vault_id=b.id_of("vault"), name="repay", conditions={"a": 1}, actions=[]
        )

    postgres, mongo = failures(backends, attempt)
    assert postgres == mongo
    assert postgres[0] == "ConflictError"


def test_duplicate_prices_fail_alike(backends: list[Backend]) -> None:
    def attempt(b: Backend) -> Any:
        record = price("ETH", ChainId.BASE, 0, "1")
        return b.store.market_data.bulk_insert([record, record])

    postgres, mongo = failures(backends, attempt)
    assert postgres == mongo
    assert postgres[0] == "ConflictError"


def test_a_rule_for_an_unknown_vault_fails_alike(backends: list[Backend]) -> None:
    def attempt(b: Backend) -> Any:
        return b.store.protection_rules.create(
            vault_id=UNKNOWN_ID, name="orphan", conditions={}, actions=[]
        )

    postgres, mongo = failures(backends, attempt)
    assert postgres == mongo
    assert postgres[0] == "NotFoundError"


def test_updating_an_unknown_vault_fails_alike(backends: list[Backend]) -> None:
    def attempt(b: Backend) -> Any:
        return b.store.vaults.update(UNKNOWN_ID, ltv=1)

    postgres, mongo = failures(backends, attempt)
    assert postgres == mongo
    assert postgres == ("NotFoundError", None, "CreditVault", UNKNOWN_ID)


def test_deleting_an_unknown_alert_fails_alike(backends: list[Backend]) -> None:
    def attempt(b: Backend) -> Any:
        return b.store.alerts.delete(UNKNOWN_ID)

    postgres, mongo = failures(backends, attempt)
    assert postgres == mongo
    assert postgres == ("NotFoundError", None, "RiskAlert", UNKNOWN_ID)


def fields(**given: Any) -> dict[str, Any]:
    """Keyword arguments that are wrong on purpose, kept away from the type checker."""
    return given


def negative_collateral(b: Backend) -> Any:
    collateral = {"token": "ETH", "amount": "-1", "value_usd": 1}
    return b.store.vaults.create(
        **fields(agent_id=b.id_of("alpha"), **vault_fields(1, 50, collateral=collateral))
    )


def max_ltv_above_100(b: Backend) -> Any:
    return b.store.vaults.create(
        agent_id=b.id_of("alpha"), **vault_fields(1, 50, max_ltv=101)
    )


def threshold_above_max_ltv(b: Backend) -> Any:
    return b.store.vaults.create(agent_id=b.id_of("alpha"), **vault_fields(1, 50, max_ltv=50))


def unknown_status(b: Backend) -> Any:
    return b.store.vaults.create(
        agent_id=b.id_of("alpha"), **vault_fields(1, 50, status="frozen")
    )


def unknown_chain(b: Backend) -> Any:
    return b.store.vaults.create(agent_id=b.id_of("alpha"), **vault_fields(2, 50))


def ltv_beyond_34_digits(b: Backend) -> Any:
    ltv = THIRTY_FOUR_DIGITS + ".5"
    return b.store.vaults.create(agent_id=b.id_of("alpha"), **vault_fields(1, ltv))


def nan_health_factor(b: Backend) -> Any:
    return b.store.vaults.create(
        agent_id=b.id_of("alpha"), **vault_fields(1, 50, health_factor=float("nan"))
    )


def negative_metrics(b: Backend) -> Any:
    return b.store.vaults.update_vault_metrics(b.id_of("vault"), -1, 1)


def update_below_threshold(b: Backend) -> Any:
    return b.store.vaults.update(b.id_of("vault"), max_ltv=50)


def zero_price(b: Backend) -> Any:
    return b.store.market_data.create(token="ETH", chain_id=1, price_usd=0)


def bad_record_in_bulk(b: Backend) -> Any:
    good = price("ETH", ChainId.ETHEREUM, 1, "1")
    return b.store.market_data.bulk_insert([good, {**good, "price_usd": "-1"}])


def unknown_severity(b: Backend) -> Any:
    return b.store.alerts.create(
        vault_id=b.id_of("vault"), alert_type="ltv_warning", severity="urgent", message="m"
    )


def naive_occurred_at(b: Backend) -> Any:
    return b.store.liquidations.create(
        vault_id=b.id_of("vault"),
        chain_id=ChainId.BASE,
        collateral_seized=tokens("ETH", "1", "1"),
        debt_repaid=tokens("USDC", "1", "1"),
        ltv=90,
        health_factor=0.9,
        liquidator="0xdef",
        tx_hash="0x99",
        occurred_at=datetime(2026, 1, 1),  # no timezone: the bad value under test
    )


def dollar_key_in_conditions(b: Backend) -> Any:
    return b.store.protection_rules.create(
        vault_id=b.id_of("vault"), name="where", conditions={"$where": "1"}, actions=[]
    )


def integer_beyond_64_bits_in_conditions(b: Backend) -> Any:
    return b.store.protection_rules.create(
        vault_id=b.id_of("vault"), name="big", conditions={"big": 2**64}, actions=[]
    )


def negative_priority(b: Backend) -> Any:
    return b.store.protection_rules.create(
        vault_id=b.id_of("vault"), name="neg", conditions={}, actions=[], priority=-1
    )


def score_above_1000(b: Backend) -> Any:
    return b.store.agents.create(name="genius", credibility_score=1001)


def empty_agent_name(b: Backend) -> Any:
    return b.store.agents.create(name="", credibility_score=1)


def unknown_agent_field(b: Backend) -> Any:
    return b.store.agents.create(**fields(name="x", credibility_score=1, tier="good"))


def unknown_tier(b: Backend) -> Any:
    return b.store.agents.find_by_tier("legendary")


def zero_limit(b: Backend) -> Any:
    return b.store.vaults.list(limit=0)


def foreign_cursor(b: Backend) -> Any:
    return b.store.vaults.find_high_risk_vaults(80, after="not-a-cursor")


def cursor_of_another_listing(b: Backend) -> Any:
    b.store.vaults.create(agent_id=b.id_of("alpha"), **vault_fields(1, 85))
    first = b.store.vaults.list(limit=1)
    return b.store.vaults.find_high_risk_vaults(80, after=first.next_cursor)


BAD_VALUES: dict[str, tuple[Scenario, str]] = {
    "negative_collateral": (negative_collateral, "collateral.amount"),
    "max_ltv_above_100": (max_ltv_above_100, "max_ltv"),
    "threshold_above_max_ltv": (threshold_above_max_ltv, "liquidation_protection.threshold"),
    "unknown_status": (unknown_status, "status"),
    "unknown_chain": (unknown_chain, "chain_id"),
    "ltv_beyond_34_digits": (ltv_beyond_34_digits, "ltv"),
    "nan_health_factor": (nan_health_factor, "health_factor"),
    "negative_metrics": (negative_metrics, "ltv"),
    "update_below_threshold": (update_below_threshold, "liquidation_protection.threshold"),
    "zero_price": (zero_price, "price_usd"),
    "bad_record_in_bulk": (bad_record_in_bulk, "records[1].price_usd"),
    "unknown_severity": (unknown_severity, "severity"),
    "naive_occurred_at": (naive_occurred_at, "occurred_at"),
    "dollar_key_in_conditions": (dollar_key_in_conditions, "conditions"),
    "integer_beyond_64_bits_in_conditions": (
        integer_beyond_64_bits_in_conditions,
        "conditions.big",
    ),
    "negative_priority": (negative_priority, "priority"),
    "score_above_1000": (score_above_1000, "credibility_score"),
    "empty_agent_name": (empty_agent_name, "name"),
    "unknown_agent_field": (unknown_agent_field, "tier"),
    "unknown_tier": (unknown_tier, "tier"),
    "zero_limit": (zero_limit, "limit"),
    "foreign_cursor": (foreign_cursor, "after"),
    "cursor_of_another_listing": (cursor_of_another_listing, "after"),
}


@pytest.mark.parametrize("case", BAD_VALUES)
def test_a_bad_value_fails_alike_naming_the_same_field(
    backends: list[Backend], case: str
) -> None:
    attempt, field = BAD_VALUES[case]
    postgres, mongo = failures(backends, attempt)
    assert postgres == mongo
    assert postgres[:2] == ("ValidationError", field)


# -- the audit trail -------------------------------------------------------------------


def audit_shape(b: Backend, record: Any) -> Any:
    """An audit record as compared across backends: its id and time are the
    backend's, ids as names, the backend's own timestamps left out of the changes."""
    return (
        record.operation,
        record.action.value,
        record.entity_type,
        b.names.get(record.entity_id, record.entity_id),
        record.version_before,
        record.version_after,
        record.count,
        record.actor,
        {
            name: (b._field(name, change.old), b._field(name, change.new))
            for name, change in record.changes.items()
            if name not in SET_BY_THE_BACKEND
        },
    )


def test_audit_records_agree_record_by_record(backends: list[Backend]) -> None:
    def scenario(b: Backend) -> Any:
        seed(b)
        desk = b.store.scoped(actor="agreement")
        desk.vaults.update_vault_metrics(b.id_of("eth-a"), "81.50", "1.9")
        desk.vaults.update(b.id_of("eth-b"), max_ltv=Decimal("90.0"))
        desk.alerts.acknowledge(b.id_of("alert-acked"))
        desk.alerts.resolve(b.id_of("alert-resolved"))
        desk.protection_rules.mark_triggered(b.id_of("notify"))
        desk.vaults.update_metrics_many(
            [(b.id_of("eth-a"), "82", "1.8"), (b.id_of("eth-b"), "83", 1), (UNKNOWN_ID, 1, 1)]
        )
        desk.vaults.delete(b.id_of("base-a"))  # its alert goes with it
        trail = {
            name: [
                audit_shape(b, r)
                for r in b.store.audit.history(repository_name(entity), entity.id, limit=100)
            ]
            for name, entity in b.created.items()
        }
        by_actor = [audit_shape(b, r) for r in b.store.audit.by_actor("agreement")]
        return trail, by_actor

    postgres, mongo = on_each(backends, scenario)
    assert postgres[1] == mongo[1]
    assert postgres[0] == mongo[0]
    assert len(postgres[1]) == 8  # five writes, a batch, a delete and its cascaded alert


def repository_name(entity: Any) -> str:
    return {
        "Agent": "agents",
        "CreditVault": "vaults",
        "RiskAlert": "alerts",
        "LiquidationEvent": "liquidations",
        "ProtectionRule": "protection_rules",
        "MarketData": "market_data",
    }[type(entity).__name__]
