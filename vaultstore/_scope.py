"""Who a call acts for: the tenant whose rows it may see and write, and the actor
it is made by (for the audit trail). A store has one scope; ``store.scoped()``
gives a view of the same store with another.

On PostgreSQL the tenant reaches the server as the transaction-local setting
``vaultstore.tenant`` (``set_config(..., true)``, never a session setting), which
the row-level security policies of every tenant-owned table read; on MongoDB the
executor adds it to every filter, document and pipeline.
"""

from __future__ import annotations

import logging
import re

import attrs

from .errors import ValidationError

logger = logging.getLogger("vaultstore")

DEFAULT_TENANT = "default"
"""The tenant of the rows that existed before tenancy (migration 0014 names it),
and of every call of a store with tenancy off and no tenant given."""

_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_ACTOR_MAX = 200


def check_tenant(value: object, field: str = "tenant") -> str:
    """``value`` if it is a tenant name: 1 to 64 letters, digits, ``_ . : -``,
    starting with a letter or digit (names land in settings, logs and indexes)."""
    if not isinstance(value, str) or not _TENANT.fullmatch(value):
        shown = repr(value) if isinstance(value, str) and len(value) <= 80 else type(value).__name__
        raise ValidationError(
            f"expected a tenant name (1-64 letters, digits, '_', '.', ':', '-'), got {shown}",
            field=field,
        )
    return value


def check_actor(value: object, field: str = "actor") -> str:
    """``value`` if it names an actor: 1 to 200 printable characters."""
    if (
        not isinstance(value, str)
        or not value
        or len(value) > _ACTOR_MAX
        or not value.isprintable()
    ):
        raise ValidationError(
            f"expected an actor name (1-{_ACTOR_MAX} printable characters)", field=field
        )
    return value


@attrs.frozen
class Scope:
    """A store's tenant and actor. ``tenant`` None: the store's calls refuse when
    tenancy is on, and act for :data:`DEFAULT_TENANT` when it is off."""

    tenant: str | None = attrs.field(default=None)
    actor: str | None = attrs.field(default=None)
    tenancy: bool = False
    """Whether every call must name its tenant (``VAULTSTORE_TENANCY``)."""
    audit: bool = True
    """Whether the store's writes leave audit records (``VAULTSTORE_AUDIT``): off
    only for bulk backfills, and logged when off."""

    @tenant.validator
    def _check_tenant(self, _: object, value: str | None) -> None:
        if value is not None:
            check_tenant(value)

    @actor.validator
    def _check_actor(self, _: object, value: str | None) -> None:
        if value is not None:
            check_actor(value)

    def effective_tenant(self) -> str:
        """The tenant the calls act for; ValidationError before any I/O when
        tenancy is on and none was given."""
        if self.tenant is not None:
            return self.tenant
        if self.tenancy:
            raise ValidationError(
                "tenancy is on: give a tenant (store.scoped(tenant=...), "
                "connect(..., tenant=...) or VAULTSTORE_TENANT)",
                field="tenant",
            )
        return DEFAULT_TENANT


def audit_off(scope: Scope) -> None:
    """Say, on the ``vaultstore`` logger, that a store's writes leave no audit record."""
    logger.warning(
        "vaultstore: the audit trail is off for the writes of tenant %s, actor %s "
        "(audit=False or VAULTSTORE_AUDIT=false: a backfill)",
        scope.tenant or DEFAULT_TENANT,
        scope.actor or "(none)",
    )
