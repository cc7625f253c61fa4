"""The payment worker's settings, read from the environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from config.env import PlatformSettings, decimal, duration, names, number, setting, string
from payment.domain import DEFAULT_RETENTION, DEMO_BLOCKED_USER, PaymentRules, Retention
from streaming.settings import StreamingSettings

CREDIT_LIMIT = Decimal("5000.00")
SETTLED_RETENTION = DEFAULT_RETENTION.settled
PENDING_RETENTION = DEFAULT_RETENTION.pending


@dataclass(frozen=True)
class PaymentSettings:
    """Configuration of one payment worker process."""

    platform: PlatformSettings = field(default_factory=PlatformSettings)
    """Kafka and the other shared infrastructure (``KAFKA_BOOTSTRAP_SERVERS``, ...)."""

    streaming: StreamingSettings = field(
        default_factory=lambda: StreamingSettings.from_env("payment")
    )
    """Retry tiers, injected faults, metrics (``RETRY_DELAYS``, ``PAYMENT_FAULT_*``, ...)."""

    group: str = setting("PAYMENT_GROUP", string, "payment")
    """``PAYMENT_GROUP``: the consumer group and Faust app id, ``payment`` by default.

    It also names the ledger's changelog topic (``<group>-ledger-changelog``): a new
    group starts from the oldest retained order with an empty ledger.
    """

    credit_limit: Decimal = setting("PAYMENT_CREDIT_LIMIT", decimal, CREDIT_LIMIT)
    """``PAYMENT_CREDIT_LIMIT``: the largest amount authorized per order, in any currency."""

    blocked_users: frozenset[str] = setting(
        "PAYMENT_BLOCKED_USERS", names, frozenset({DEMO_BLOCKED_USER})
    )
    """``PAYMENT_BLOCKED_USERS``: comma-separated user ids that are always declined.

    Defaults to the demo id ``user-blocked``; set it empty to block nobody.
    """

    decline_rate: float = setting("PAYMENT_DECLINE_RATE", number, 0.0)
    """``PAYMENT_DECLINE_RATE``: share of orders declined at random for demos, 0 to 1 (0)."""

    decline_seed: str = setting("PAYMENT_DECLINE_SEED", string, "saga-demo")
    """``PAYMENT_DECLINE_SEED``: seed of the random declines; the same seed and order id
    always give the same answer."""

    retention_settled: timedelta = setting("PAYMENT_RETENTION_SECONDS", duration, SETTLED_RETENTION)
    """``PAYMENT_RETENTION_SECONDS``: how long the ledger keeps a settled order (one with an
    outcome, a tombstone, a decline) after its last change (600). Events older than this
    that find no record are ignored as stale. Keep it well above the saga's deadline."""

    retention_pending: timedelta = setting(
        "PAYMENT_PENDING_RETENTION_SECONDS", duration, PENDING_RETENTION
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
