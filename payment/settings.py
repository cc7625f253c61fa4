"""The payment worker's settings, read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from config.env import PlatformSettings
from payment.domain import DEMO_BLOCKED_USER, PaymentRules


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

    def __post_init__(self) -> None:
        self.rules  # noqa: B018 -- validate the rule parameters at startup

    @property
    def rules(self) -> PaymentRules:
        """The decline rules these settings configure."""
        return PaymentRules(
            credit_limit=self.credit_limit,
            blocked_users=self.blocked_users,
            decline_rate=self.decline_rate,
            decline_seed=self.decline_seed,
        )


def load() -> PaymentSettings:
    """Read the payment settings from the current environment."""
    return PaymentSettings()
