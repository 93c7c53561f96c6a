"""The entities vaultstore stores: frozen, slotted attrs classes that check every
value when they are built, and the enums they use.

Money, token amounts, ratios and prices are :class:`~decimal.Decimal` everywhere;
an int, float or str given for one becomes the Decimal it is written as.
Timestamps are timezone-aware UTC datetimes at millisecond precision. Every stored
entity carries ``version``: 1 when stored, one more on every write, kept by the
database (a write may require the version it read: ``expected_version=``).
"""

import decimal
from datetime import datetime
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Any, NotRequired, TypedDict

import attrs

from . import _values as v
from .errors import ValidationError

Number = Decimal | int | float | str
"""What a numeric field accepts; it is stored as the Decimal it is written as."""

_HUNDRED = Decimal(100)


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
    def for_score(cls, score: int) -> "CredibilityTier":
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


class DocumentOwner(StrEnum):
    """What a stored document is attached to."""

    VAULT = "vault"
    AGENT = "agent"


# -- converters of enum fields (named functions, so that mypy sees what they take) ----


def _chain_id(value: ChainId | int) -> ChainId:
    return v.enum_member(ChainId, value)


def _vault_status(value: VaultStatus | str) -> VaultStatus:
    return v.enum_member(VaultStatus, value)


def _alert_type(value: AlertType | str) -> AlertType:
    return v.enum_member(AlertType, value)


def _alert_severity(value: AlertSeverity | str) -> AlertSeverity:
    return v.enum_member(AlertSeverity, value)


def _alert_status(value: AlertStatus | str) -> AlertStatus:
    return v.enum_member(AlertStatus, value)


def _document_owner(value: DocumentOwner | str) -> DocumentOwner:
    return v.enum_member(DocumentOwner, value)


def _sha256_hex(instance: object, field: "attrs.Attribute[Any]", value: Any) -> None:
    v.valid(instance, field, value)
    if len(value) != 64 or value.strip("0123456789abcdef"):
        raise ValidationError("expected 64 lowercase hex digits (a SHA-256)", field=field.name)


# Fields are spelled out as attrs.field(converter=..., validator=...) so that mypy's
# attrs plugin types each __init__ argument from its converter (a Decimal field
# takes a Number). Every validator also reports what its converter refused.
_ID = v.text(64)
_AMOUNT = v.between(0)
_PERCENT = v.between(0, 100, low_open=True)

# -- value objects -------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TokenAmount:
    """An amount of a token and what it is worth in USD."""

    token: str = attrs.field(converter=v.to_str, validator=v.text(64))
    amount: Decimal = attrs.field(converter=v.to_decimal, validator=_AMOUNT)
    value_usd: Decimal = attrs.field(converter=v.to_decimal, validator=_AMOUNT)


@attrs.frozen(kw_only=True)
class LiquidationProtection:
    """Automatic protection of a vault: act when its LTV reaches ``threshold`` percent,
    then wait ``cooldown`` seconds before acting again."""

    enabled: bool = attrs.field(default=False, converter=v.to_bool, validator=v.valid)
    threshold: Decimal = attrs.field(converter=v.to_decimal, validator=_PERCENT)
    cooldown: int = attrs.field(default=3600, converter=v.to_int, validator=v.between(0))


# -- entities ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Agent:
    """An AI agent that borrows from credit vaults."""

    id: str = attrs.field(converter=v.to_str, validator=_ID)
    name: str = attrs.field(converter=v.to_str, validator=v.text(200))
    credibility_score: int = attrs.field(converter=v.to_int, validator=v.between(0, 1000))
    credibility_tier: CredibilityTier = attrs.field(init=False)
    created_at: datetime = attrs.field(converter=v.to_utc, validator=v.valid)
    updated_at: datetime = attrs.field(converter=v.to_utc, validator=v.valid)
    version: int = attrs.field(default=1, converter=v.to_int, validator=v.between(1))

    @credibility_tier.default
    def _tier(self) -> CredibilityTier:
        score = self.credibility_score
        return CredibilityTier.for_score(score if isinstance(score, int) else 0)


@attrs.frozen(kw_only=True)
class CreditVault:
    """An agent's collateralised debt position on one chain.

    ``ltv`` (loan to value), ``max_ltv`` and the protection threshold are percentages;
    ``ltv`` can pass 100 when a vault is under water.
    """

    id: str = attrs.field(converter=v.to_str, validator=_ID)
    agent_id: str = attrs.field(converter=v.to_str, validator=_ID)
    chain_id: ChainId = attrs.field(converter=_chain_id, validator=v.valid)
    collateral: TokenAmount = attrs.field(validator=v.instance_of(TokenAmount))
    debt: TokenAmount = attrs.field(validator=v.instance_of(TokenAmount))
    ltv: Decimal = attrs.field(converter=v.to_decimal, validator=_AMOUNT)
    health_factor: Decimal = attrs.field(converter=v.to_decimal, validator=_AMOUNT)
    max_ltv: Decimal = attrs.field(converter=v.to_decimal, validator=_PERCENT)
    liquidation_protection: LiquidationProtection = attrs.field(
        validator=v.instance_of(LiquidationProtection)
    )
    status: VaultStatus = attrs.field(
        default=VaultStatus.ACTIVE, converter=_vault_status, validator=v.valid
    )
    created_at: datetime = attrs.field(converter=v.to_utc, validator=v.valid)
    updated_at: datetime = attrs.field(converter=v.to_utc, validator=v.valid)
    version: int = attrs.field(default=1, converter=v.to_int, validator=v.between(1))

    def __attrs_post_init__(self) -> None:
        if self.liquidation_protection.threshold > self.max_ltv:
            raise ValidationError(
                f"must be <= max_ltv ({self.max_ltv}), got {self.liquidation_protection.threshold}",
                field="liquidation_protection.threshold",
            )


@attrs.frozen(kw_only=True)
class RiskAlert:
    """A warning raised on a vault, open until resolved."""

    id: str = attrs.field(converter=v.to_str, validator=_ID)
    vault_id: str = attrs.field(converter=v.to_str, validator=_ID)
    alert_type: AlertType = attrs.field(converter=_alert_type, validator=v.valid)
    severity: AlertSeverity = attrs.field(converter=_alert_severity, validator=v.valid)
    message: str = attrs.field(converter=v.to_str, validator=v.text(2000))
    status: AlertStatus = attrs.field(
        default=AlertStatus.OPEN, converter=_alert_status, validator=v.valid
    )
    acknowledged_at: datetime | None = attrs.field(
        default=None, converter=v.to_optional_utc, validator=v.valid
    )
    resolved_at: datetime | None = attrs.field(
        default=None, converter=v.to_optional_utc, validator=v.valid
    )
    created_at: datetime = attrs.field(converter=v.to_utc, validator=v.valid)
    updated_at: datetime = attrs.field(converter=v.to_utc, validator=v.valid)
    version: int = attrs.field(default=1, converter=v.to_int, validator=v.between(1))

    def __attrs_post_init__(self) -> None:
        if (self.status is AlertStatus.RESOLVED) != (self.resolved_at is not None):
            raise ValidationError("is set exactly when the alert is resolved", field="resolved_at")
        if self.status is AlertStatus.ACKNOWLEDGED and self.acknowledged_at is None:
            raise ValidationError("an acknowledged alert has one", field="acknowledged_at")


@attrs.frozen(kw_only=True)
class LiquidationEvent:
    """A liquidation that happened on chain: what was seized, what was repaid."""

    id: str = attrs.field(converter=v.to_str, validator=_ID)
    vault_id: str = attrs.field(converter=v.to_str, validator=_ID)
    chain_id: ChainId = attrs.field(converter=_chain_id, validator=v.valid)
    collateral_seized: TokenAmount = attrs.field(validator=v.instance_of(TokenAmount))
    debt_repaid: TokenAmount = attrs.field(validator=v.instance_of(TokenAmount))
    penalty_usd: Decimal = attrs.field(
        default=Decimal(0), converter=v.to_decimal, validator=_AMOUNT
    )
    ltv: Decimal = attrs.field(converter=v.to_decimal, validator=_AMOUNT)
    health_factor: Decimal = attrs.field(converter=v.to_decimal, validator=_AMOUNT)
    liquidator: str = attrs.field(converter=v.to_str, validator=v.text(128))
    tx_hash: str = attrs.field(converter=v.to_str, validator=v.text(128))
    occurred_at: datetime = attrs.field(converter=v.to_utc, validator=v.valid)
    created_at: datetime = attrs.field(converter=v.to_utc, validator=v.valid)
    updated_at: datetime = attrs.field(converter=v.to_utc, validator=v.valid)
    version: int = attrs.field(default=1, converter=v.to_int, validator=v.between(1))


@attrs.frozen(kw_only=True)
class ProtectionRule:
    """An automated protection for a vault: when ``conditions`` (a JSON object) hold,
    run ``actions`` (a JSON list of objects), at most once per ``cooldown`` seconds."""

    id: str = attrs.field(converter=v.to_str, validator=_ID)
    vault_id: str = attrs.field(converter=v.to_str, validator=_ID)
    name: str = attrs.field(converter=v.to_str, validator=v.text(200))
    conditions: dict[str, Any] = attrs.field(converter=v.to_json_object, validator=v.valid)
    actions: list[dict[str, Any]] = attrs.field(converter=v.to_json_object_list, validator=v.valid)
    enabled: bool = attrs.field(default=True, converter=v.to_bool, validator=v.valid)
    priority: int = attrs.field(default=0, converter=v.to_int, validator=v.between(0, 1000))
    cooldown: int = attrs.field(default=3600, converter=v.to_int, validator=v.between(0))
    last_triggered_at: datetime | None = attrs.field(
        default=None, converter=v.to_optional_utc, validator=v.valid
    )
    trigger_count: int = attrs.field(default=0, converter=v.to_int, validator=v.between(0))
    created_at: datetime = attrs.field(converter=v.to_utc, validator=v.valid)
    updated_at: datetime = attrs.field(converter=v.to_utc, validator=v.valid)
    version: int = attrs.field(default=1, converter=v.to_int, validator=v.between(1))


@attrs.frozen(kw_only=True)
class MarketData:
    """A token's price on one chain at one moment, from one source."""

    id: str = attrs.field(converter=v.to_str, validator=_ID)
    token: str = attrs.field(converter=v.to_str, validator=v.text(64))
    chain_id: ChainId = attrs.field(converter=_chain_id, validator=v.valid)
    price_usd: Decimal = attrs.field(converter=v.to_decimal, validator=v.between(0, low_open=True))
    volume_24h_usd: Decimal | None = attrs.field(
        default=None, converter=v.to_optional_decimal, validator=_AMOUNT
    )
    market_cap_usd: Decimal | None = attrs.field(
        default=None, converter=v.to_optional_decimal, validator=_AMOUNT
    )
    source: str = attrs.field(default="unknown", converter=v.to_str, validator=v.text(100))
    recorded_at: datetime = attrs.field(converter=v.to_utc, validator=v.valid)
    created_at: datetime = attrs.field(converter=v.to_utc, validator=v.valid)
    updated_at: datetime = attrs.field(converter=v.to_utc, validator=v.valid)
    version: int = attrs.field(default=1, converter=v.to_int, validator=v.between(1))


@attrs.frozen(kw_only=True)
class StoredDocument:
    """A large document (a risk report, an audit snapshot) attached to a vault or an
    agent. This is its description; the content is read in chunks with the document
    repository's ``chunks()`` or ``download()``. ``length`` is in bytes and
    ``sha256`` is the hex digest of the content, both taken while it was stored."""

    id: str = attrs.field(converter=v.to_str, validator=_ID)
    owner_type: DocumentOwner = attrs.field(converter=_document_owner, validator=v.valid)
    owner_id: str = attrs.field(converter=v.to_str, validator=_ID)
    name: str = attrs.field(converter=v.to_str, validator=v.text(255))
    content_type: str = attrs.field(
        default="application/octet-stream", converter=v.to_str, validator=v.text(255)
    )
    length: int = attrs.field(converter=v.to_int, validator=v.between(0))
    sha256: str = attrs.field(converter=v.to_str, validator=_sha256_hex)
    metadata: dict[str, Any] = attrs.field(
        factory=dict, converter=v.to_json_object, validator=v.valid
    )
    created_at: datetime = attrs.field(converter=v.to_utc, validator=v.valid)


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


@attrs.frozen(kw_only=True)
class BatchResult:
    """What a batch write did: how many entities it changed, and the ids it was
    given that name none (nothing was written for those)."""

    updated: int
    missing: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ChainRiskSummary:
    """Risk figures for the vaults of one chain."""

    chain_id: ChainId
    vault_count: int
    total_collateral_usd: Decimal
    total_debt_usd: Decimal
    average_ltv: Decimal | None
    at_risk_count: int

    @classmethod
    def from_totals(
        cls,
        *,
        chain_id: int,
        vault_count: int,
        total_collateral_usd: Decimal,
        total_debt_usd: Decimal,
        ltv_total: Decimal,
        at_risk_count: int,
    ) -> "ChainRiskSummary":
        """The summary from the sums both backends compute; the average is divided
        here, to Decimal128's 34 digits, so that it is the same on each."""
        average = None
        if vault_count:
            average = decimal.Context(prec=34).divide(ltv_total, vault_count)
        return cls(
            chain_id=ChainId(chain_id),
            vault_count=vault_count,
            total_collateral_usd=total_collateral_usd,
            total_debt_usd=total_debt_usd,
            average_ltv=average,
            at_risk_count=at_risk_count,
        )


# -- the audit trail ---------------------------------------------------------------


class WriteKind(StrEnum):
    """What a write did to the entity an audit record is about."""

    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"


@attrs.frozen
class FieldChange:
    """One field's value before and after a write (None: the field had none, as
    before an insert or after a delete), typed as the entity's field is."""

    old: Any
    new: Any


@attrs.frozen(kw_only=True)
class AuditRecord:
    """One write, as the audit trail keeps it: appended in the write's own
    transaction, so a committed write always has one and a rolled-back write none.

    A batch (``bulk_insert``, ``restore``, ``update_metrics_many``) is one record
    per batch: ``entity_id`` None, ``count`` its rows, no ``changes``.
    """

    id: str
    """Opaque; records of one store sort by (``at``, ``id``) in the order written."""
    at: datetime
    """When the write's statement began (UTC, milliseconds)."""
    tenant: str
    actor: str | None
    """Who the store acted as (``actor=`` / ``VAULTSTORE_ACTOR``); None if it named none."""
    operation: str | None
    """The statement (PostgreSQL) or declared operation (MongoDB) that wrote,
    ``vaults.update_metrics``; None for a write made outside vaultstore (psql, a
    data migration: PostgreSQL's triggers record those too)."""
    action: WriteKind
    entity_type: str
    """The entity's name in the registry (``vaults``), or ``documents``."""
    entity_id: str | None
    version_before: int | None
    version_after: int | None
    changes: dict[str, FieldChange]
    """The fields the write changed, by column name (a value object's fields
    flattened: ``collateral_amount``): every field an insert set or a delete
    removed; ``id``, ``version``, ``created_at`` and ``updated_at`` are left out."""
    count: int = 1
    """How many rows the write wrote: 1, or a batch's size."""
