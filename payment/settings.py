"""The payment worker's settings, read from the environment."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from config.env import PlatformSettings
from payment.domain import DEFAULT_RETENTION, DEMO_BLOCKED_USER, PaymentRules, Retention


def _raw(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None else value.strip()


def _decimal(name: str, default: str) -> Decimal:
    raw = _raw(name, default) or default
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"{name}={raw!r} is not a decimal amount") from None


def _float(name: str, default: str) -> float:
    raw = _raw(name, default) or default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None


def _seconds(name: str, default: timedelta) -> timedelta:
    raw = _raw(name, "")
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"{name}={raw!r} is not a number of seconds")
    return timedelta(seconds=value)


def _names(name: str, default: str) -> frozenset[str]:
    return frozenset(part.strip() for part in _raw(name, default).split(",") if part.strip())


@dataclass(frozen=True)
class PaymentSettings:
    """Configuration of one payment worker process."""

    platform: PlatformSettings = field(default_factory=PlatformSettings)
    """Kafka and the other shared infrastructure (``KAFKA_BOOTSTRAP_SERVERS``, ...)."""

    group: str = field(default_factory=lambda: _raw("PAYMENT_GROUP", "") or "payment")
    """``PAYMENT_GROUP``: the consumer group and Faust app id, ``payment`` by default.

    It also names the ledger's changelog topic (``<group>-ledger-changelog``): a new
    group starts from the oldest retained order with an empty ledger.
    """

    credit_limit: Decimal = field(
        default_factory=lambda: _decimal("PAYMENT_CREDIT_LIMIT", "5000.00")
    )
    """``PAYMENT_CREDIT_LIMIT``: the largest amount authorized per order, in any currency."""

    blocked_users: frozenset[str] = field(
        default_factory=lambda: _names("PAYMENT_BLOCKED_USERS", DEMO_BLOCKED_USER)
    )
    """``PAYMENT_BLOCKED_USERS``: comma-separated user ids that are always declined.

    Defaults to the demo id ``user-blocked``; set it empty to block nobody.
    """

    decline_rate: float = field(default_factory=lambda: _float("PAYMENT_DECLINE_RATE", "0"))
    """``PAYMENT_DECLINE_RATE``: share of orders declined at random for demos, 0 to 1 (0)."""

    decline_seed: str = field(
        default_factory=lambda: _raw("PAYMENT_DECLINE_SEED", "") or "saga-demo"
    )
    """``PAYMENT_DECLINE_SEED``: seed of the random declines; the same seed and order id
    always give the same answer."""

    retention_settled: timedelta = field(
        default_factory=lambda: _seconds("PAYMENT_RETENTION_SECONDS", DEFAULT_RETENTION.settled)
    )
    """``PAYMENT_RETENTION_SECONDS``: how long the ledger keeps a settled order (one with an
    outcome, a tombstone, a decline) after its last change (600). Events older than this
    that find no record are ignored as stale. Keep it well above the saga's deadline."""

    retention_pending: timedelta = field(
        default_factory=lambda: _seconds(
            "PAYMENT_PENDING_RETENTION_SECONDS", DEFAULT_RETENTION.pending
        )
    )
    """``PAYMENT_PENDING_RETENTION_SECONDS``: how long an authorization awaiting its outcome
    is kept (604800, seven days: as long as the topics keep events), so that a late
    cancellation is still refunded."""

    def __post_init__(self) -> None:
        self.rules  # noqa: B018 -- validate the rule parameters at startup
        self.retention  # noqa: B018 -- and the retention

    @property
    def rules(self) -> PaymentRules:
        """The decline rules these settings configure."""
        return PaymentRules(
            credit_limit=self.credit_limit,
            blocked_users=self.blocked_users,
            decline_rate=self.decline_rate,
            decline_seed=self.decline_seed,
        )

    @property
    def retention(self) -> Retention:
        """How long the ledger remembers orders."""
        return Retention(settled=self.retention_settled, pending=self.retention_pending)


def load() -> PaymentSettings:
    """Read the payment settings from the current environment."""
    return PaymentSettings()
