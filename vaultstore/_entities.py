"""The entities vaultstore stores: frozen, slotted attrs classes that check every
value when they are built, and the enums they use.

Money, token amounts, ratios and prices are :class:`~decimal.Decimal` everywhere;
an int, float or str given for one becomes the Decimal it is written as.
Timestamps are timezone-aware UTC datetimes at millisecond precision.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Any, Generic, NotRequired, TypedDict, TypeVar, overload

import attrs

from . import _values as v
from .errors import ValidationError

T = TypeVar("T")
Number = Decimal | int | float | str
"""What a numeric field accepts; it is stored as the Decimal it is written as."""

_HUNDRED = Decimal(100)


def _conv(fn: Callable[[Any, attrs.Attribute[Any]], Any]) -> attrs.Converter[Any, Any]:
    return attrs.Converter(fn, takes_field=True)  # type: ignore[misc,call-overload]


# -- enums -------------------------------------------------------------------------


class ChainId(IntEnum):
    """EVM chains by their EIP-155 chain id."""

    ETHEREUM = 1
    OPTIMISM = 10
    BSC = 56
    GNOSIS = 100
    POLYGON = 137
    ZKSYNC = 324
    BASE = 8453
    ARBITRUM = 42161
    AVALANCHE = 43114
    LINEA = 59144
    SCROLL = 534352
    SEPOLIA = 11155111


class CredibilityTier(StrEnum):
    """The band an agent's credibility score (0 to 1000) falls in."""

    POOR = "poor"  # 0-399
    FAIR = "fair"  # 400-599
    GOOD = "good"  # 600-799
    EXCELLENT = "excellent"  # 800-1000

    @classmethod
    def for_score(cls, score: int) -> CredibilityTier:
        """The tier of ``score``; the database computes the same (migration 0001)."""
        if score >= 800:
            return cls.EXCELLENT
        if score >= 600:
            return cls.GOOD
        if score >= 400:
            return cls.FAIR
        return cls.POOR


class VaultStatus(StrEnum):
    ACTIVE = "active"
    AT_RISK = "at_risk"
    LIQUIDATING = "liquidating"
    LIQUIDATED = "liquidated"
    CLOSED = "closed"


class AlertType(StrEnum):
    LTV_WARNING = "ltv_warning"
    LTV_CRITICAL = "ltv_critical"
    HEALTH_FACTOR_LOW = "health_factor_low"
    LIQUIDATION_RISK = "liquidation_risk"
    PRICE_DROP = "price_drop"
    PROTECTION_TRIGGERED = "protection_triggered"


class AlertSeverity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class AlertStatus(StrEnum):
    """An alert is open until resolved; acknowledging it keeps it open."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


# -- common field definitions --------------------------------------------------------


def _id_field() -> Any:
    return attrs.field(converter=_conv(v.text(max_length=64)))


def _timestamp() -> Any:
    return attrs.field(converter=_conv(v.to_utc))


def _optional_timestamp() -> Any:
    return attrs.field(default=None, converter=_conv(v.to_optional_utc))


def _decimal(
    low: Decimal | int | None = 0,
    high: Decimal | int | None = None,
    *,
    low_open: bool = False,
    default: Any = attrs.NOTHING,
) -> Any:
    return attrs.field(
        default=default,
        converter=_conv(v.to_decimal),
        validator=v.between(low, high, low_open=low_open),
    )


def _optional_decimal(low: int = 0) -> Any:
    return attrs.field(
        default=None, converter=_conv(v.to_optional_decimal), validator=v.between(low)
    )


def _text(max_length: int, *, default: Any = attrs.NOTHING) -> Any:
    return attrs.field(default=default, converter=_conv(v.text(max_length=max_length)))


def _int(low: int = 0, high: int | None = None, *, default: Any = attrs.NOTHING) -> Any:
    return attrs.field(default=default, converter=_conv(v.to_int), validator=v.between(low, high))


def _bool(*, default: Any = attrs.NOTHING) -> Any:
    return attrs.field(default=default, converter=_conv(v.to_bool))


def _enum(enum: type[Any], *, default: Any = attrs.NOTHING) -> Any:
    return attrs.field(default=default, converter=_conv(v.to_enum(enum)))


def _nested(cls: type) -> Any:
    return attrs.field(validator=v.instance_of(cls))


# -- value objects -------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TokenAmount:
    """An amount of a token and what it is worth in USD."""

    token: str = _text(64)
    amount: Decimal = _decimal(0)
    value_usd: Decimal = _decimal(0)


@attrs.frozen(kw_only=True)
class LiquidationProtection:
    """Automatic protection of a vault: act when its LTV reaches ``threshold`` percent,
    then wait ``cooldown`` seconds before acting again."""

    enabled: bool = _bool(default=False)
    threshold: Decimal = _decimal(0, 100, low_open=True)
    cooldown: int = _int(0, default=3600)


# -- entities ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Agent:
    """An AI agent that borrows from credit vaults."""

    id: str = _id_field()
    name: str = _text(200)
    credibility_score: int = _int(0, 1000)
    credibility_tier: CredibilityTier = attrs.field(init=False)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()

    @credibility_tier.default
    def _tier(self) -> CredibilityTier:
        return CredibilityTier.for_score(self.credibility_score)


@attrs.frozen(kw_only=True)
class CreditVault:
    """An agent's collateralised debt position on one chain.

    ``ltv`` (loan to value), ``max_ltv`` and the protection threshold are percentages;
    ``ltv`` can pass 100 when a vault is under water.
    """

    id: str = _id_field()
    agent_id: str = _id_field()
    chain_id: ChainId = _enum(ChainId)
    collateral: TokenAmount = _nested(TokenAmount)
    debt: TokenAmount = _nested(TokenAmount)
    ltv: Decimal = _decimal(0)
    health_factor: Decimal = _decimal(0)
    max_ltv: Decimal = _decimal(0, 100, low_open=True)
    liquidation_protection: LiquidationProtection = _nested(LiquidationProtection)
    status: VaultStatus = _enum(VaultStatus, default=VaultStatus.ACTIVE)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()

    def __attrs_post_init__(self) -> None:
        if self.liquidation_protection.threshold > self.max_ltv:
            raise ValidationError(
                f"must be <= max_ltv ({self.max_ltv}), "
                f"got {self.liquidation_protection.threshold}",
                field="liquidation_protection.threshold",
            )


@attrs.frozen(kw_only=True)
class RiskAlert:
    """A warning raised on a vault, open until resolved."""

    id: str = _id_field()
    vault_id: str = _id_field()
    alert_type: AlertType = _enum(AlertType)
    severity: AlertSeverity = _enum(AlertSeverity)
    message: str = _text(2000)
    status: AlertStatus = _enum(AlertStatus, default=AlertStatus.OPEN)
    acknowledged_at: datetime | None = _optional_timestamp()
    resolved_at: datetime | None = _optional_timestamp()
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()

    def __attrs_post_init__(self) -> None:
        if (self.status is AlertStatus.RESOLVED) != (self.resolved_at is not None):
            raise ValidationError("is set exactly when the alert is resolved", field="resolved_at")
        if self.status is AlertStatus.ACKNOWLEDGED and self.acknowledged_at is None:
            raise ValidationError("an acknowledged alert has one", field="acknowledged_at")


@attrs.frozen(kw_only=True)
class LiquidationEvent:
    """A liquidation that happened on chain: what was seized, what was repaid."""

    id: str = _id_field()
    vault_id: str = _id_field()
    chain_id: ChainId = _enum(ChainId)
    collateral_seized: TokenAmount = _nested(TokenAmount)
    debt_repaid: TokenAmount = _nested(TokenAmount)
    penalty_usd: Decimal = _decimal(0, default=Decimal(0))
    ltv: Decimal = _decimal(0)
    health_factor: Decimal = _decimal(0)
    liquidator: str = _text(128)
    tx_hash: str = _text(128)
    occurred_at: datetime = _timestamp()
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


@attrs.frozen(kw_only=True)
class ProtectionRule:
    """An automated protection for a vault: when ``conditions`` (a JSON object) hold,
    run ``actions`` (a JSON list of objects), at most once per ``cooldown`` seconds."""

    id: str = _id_field()
    vault_id: str = _id_field()
    name: str = _text(200)
    conditions: dict[str, Any] = attrs.field(converter=_conv(v.to_json_object))
    actions: list[dict[str, Any]] = attrs.field(converter=_conv(v.to_json_object_list))
    enabled: bool = _bool(default=True)
    priority: int = _int(0, 1000, default=0)
    cooldown: int = _int(0, default=3600)
    last_triggered_at: datetime | None = _optional_timestamp()
    trigger_count: int = _int(0, default=0)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


@attrs.frozen(kw_only=True)
class MarketData:
    """A token's price on one chain at one moment, from one source."""

    id: str = _id_field()
    token: str = _text(64)
    chain_id: ChainId = _enum(ChainId)
    price_usd: Decimal = _decimal(0, low_open=True)
    volume_24h_usd: Decimal | None = _optional_decimal()
    market_cap_usd: Decimal | None = _optional_decimal()
    source: str = _text(100, default="unknown")
    recorded_at: datetime = _timestamp()
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


ENTITIES: tuple[type, ...] = (
    Agent,
    CreditVault,
    RiskAlert,
    LiquidationEvent,
    ProtectionRule,
    MarketData,
)


# -- what create() and update() take --------------------------------------------------
# Fields that vaultstore sets itself (id, created_at, updated_at, derived values)
# are not in these. tests/test_entities.py checks they match the classes above.


class NewAgent(TypedDict):
    name: str
    credibility_score: int


class AgentChanges(TypedDict, total=False):
    name: str
    credibility_score: int


class NewVault(TypedDict):
    agent_id: str
    chain_id: ChainId | int
    collateral: TokenAmount
    debt: TokenAmount
    ltv: Number
    health_factor: Number
    max_ltv: Number
    liquidation_protection: LiquidationProtection
    status: NotRequired[VaultStatus | str]


class VaultChanges(TypedDict, total=False):
    collateral: TokenAmount
    debt: TokenAmount
    ltv: Number
    health_factor: Number
    max_ltv: Number
    liquidation_protection: LiquidationProtection
    status: VaultStatus | str


class NewAlert(TypedDict):
    vault_id: str
    alert_type: AlertType | str
    severity: AlertSeverity | str
    message: str


class AlertChanges(TypedDict, total=False):
    severity: AlertSeverity | str
    message: str


class NewLiquidation(TypedDict):
    vault_id: str
    chain_id: ChainId | int
    collateral_seized: TokenAmount
    debt_repaid: TokenAmount
    penalty_usd: NotRequired[Number]
    ltv: Number
    health_factor: Number
    liquidator: str
    tx_hash: str
    occurred_at: datetime


class LiquidationChanges(TypedDict, total=False):
    collateral_seized: TokenAmount
    debt_repaid: TokenAmount
    penalty_usd: Number
    ltv: Number
    health_factor: Number
    liquidator: str


class NewProtectionRule(TypedDict):
    vault_id: str
    name: str
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    enabled: NotRequired[bool]
    priority: NotRequired[int]
    cooldown: NotRequired[int]


class ProtectionRuleChanges(TypedDict, total=False):
    name: str
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    enabled: bool
    priority: int
    cooldown: int


class NewMarketData(TypedDict):
    token: str
    chain_id: ChainId | int
    price_usd: Number
    volume_24h_usd: NotRequired[Number | None]
    market_cap_usd: NotRequired[Number | None]
    source: NotRequired[str]
    recorded_at: NotRequired[datetime]


class MarketDataChanges(TypedDict, total=False):
    price_usd: Number
    volume_24h_usd: Number | None
    market_cap_usd: Number | None


# -- results --------------------------------------------------------------------------


class Page(Sequence[T], Generic[T]):
    """One page of a keyset-paginated listing.

    It is a sequence of entities; ``next_cursor`` is None on the last page, otherwise
    pass it as ``after=`` to get the next one.
    """

    __slots__ = ("_items", "next_cursor")

    def __init__(self, items: list[T], next_cursor: str | None) -> None:
        self._items = items
        self.next_cursor = next_cursor

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...
    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Page):
            return self._items == other._items and self.next_cursor == other.next_cursor
        if isinstance(other, list):
            return self._items == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Page({self._items!r}, next_cursor={self.next_cursor!r})"


@attrs.frozen(kw_only=True)
class ChainRiskSummary:
    """Risk figures for the vaults of one chain."""

    chain_id: ChainId
    vault_count: int
    total_collateral_usd: Decimal
    total_debt_usd: Decimal
    average_ltv: Decimal | None
    at_risk_count: int
