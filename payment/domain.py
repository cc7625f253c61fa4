"""Payment decisions, pure: which orders are charged, and what is recorded about each.

The rules, checked in this order; the first that matches declines the order:

1. ``customer_blocked``: the order's ``user_id`` is in ``PaymentRules.blocked_users``.
2. ``credit_limit_exceeded``: the order's ``amount`` is above ``credit_limit``. The
   limit applies to every customer, per order, to the number in any currency (no
   exchange rates in this demo): ``5000.00`` is authorized, ``5000.01`` declined.
3. ``random_decline``: a demo rule that declines a share ``decline_rate`` of the
   orders. The draw is a hash of ``decline_seed`` and the order id, so the same order
   always gets the same answer (redelivered, replayed or reprocessed elsewhere).

Otherwise the order is authorized for its full amount. The resulting event is a
``contracts.reaction`` to the ``OrderPlaced``: its ``event_id`` is derived from the
order event's id, so every copy of the decision carries the same id.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

import msgspec

from contracts import OrderPlaced, PaymentAuthorized, PaymentDeclined, PaymentRefunded, reaction

#: What ``authorize`` decides for one order.
Decision = PaymentAuthorized | PaymentDeclined

BLOCKED = "customer_blocked"
OVER_LIMIT = "credit_limit_exceeded"
RANDOM = "random_decline"

#: The demo customer that is always declined unless ``blocked_users`` says otherwise.
DEMO_BLOCKED_USER = "user-blocked"


@dataclass(frozen=True)
class PaymentRules:
    """The parameters of the decline rules (see the module docstring)."""

    credit_limit: Decimal = Decimal("5000.00")
    blocked_users: frozenset[str] = field(default_factory=lambda: frozenset({DEMO_BLOCKED_USER}))
    decline_rate: float = 0.0
    decline_seed: str = "saga-demo"

    def __post_init__(self) -> None:
        if not self.credit_limit.is_finite() or self.credit_limit < 0:
            raise ValueError(f"credit_limit must be a non-negative amount, got {self.credit_limit}")
        if not 0.0 <= self.decline_rate <= 1.0:
            raise ValueError(f"decline_rate must be within [0, 1], got {self.decline_rate}")


def decline_reason(order: OrderPlaced, rules: PaymentRules) -> str | None:
    """The reason the first matching rule declines ``order``, or ``None`` to authorize."""
    if order.user_id in rules.blocked_users:
        return BLOCKED
    if order.amount > rules.credit_limit:
        return OVER_LIMIT
    if draw(rules.decline_seed, order.order_id) < rules.decline_rate:
        return RANDOM
    return None


def draw(seed: str, order_id: str) -> float:
    """A uniform number in [0, 1) fixed by ``seed`` and ``order_id`` (SHA-256 based)."""
    digest = hashlib.sha256(f"{seed}\x00{order_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def authorize(
    order: OrderPlaced, rules: PaymentRules, *, at: datetime | None = None
) -> PaymentAuthorized | PaymentDeclined:
    """Charge ``order`` in full, or decline it with the reason of the first matching rule.

    ``at`` is the decision's ``occurred_at`` (now when omitted). The event id is
    derived from the order event, so deciding the same ``OrderPlaced`` twice gives
    the same ``event_id`` and, with the same ``at``, an equal event.
    """
    when = at or datetime.now(UTC)
    common = {
        "user_id": order.user_id,
        "amount": order.amount,
        "currency": order.currency,
        "occurred_at": when,
    }
    reason = decline_reason(order, rules)
    if reason is None:
        return reaction(order, PaymentAuthorized, **common)
    return reaction(order, PaymentDeclined, reason=reason, **common)


# -- what the worker remembers per order ------------------------------------------


class PaymentRecord(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the payment service did for one order, the value of its ledger table.

    ``decision`` is the event that was emitted, kept whole so a redelivery can emit
    it again unchanged. ``refund`` will hold the compensation once it is made.
    """

    decision: PaymentAuthorized | PaymentDeclined
    refund: PaymentRefunded | None = None

    @property
    def status(self) -> Literal["authorized", "declined", "refunded"]:
        """Where the order's payment stands."""
        if self.refund is not None:
            return "refunded"
        return "authorized" if isinstance(self.decision, PaymentAuthorized) else "declined"


def settle(
    record: PaymentRecord | None,
    order: OrderPlaced,
    rules: PaymentRules,
    *,
    at: datetime | None = None,
) -> tuple[PaymentRecord, Decision]:
    """React to ``order`` given what was recorded for it: ``(record to keep, event to emit)``.

    The first ``OrderPlaced`` of an order is decided by ``authorize`` and recorded.
    Any later one (a redelivery, a republished copy, a replay) changes nothing: the
    recorded decision is returned again, identical, whatever the rules say now. So
    an order is never charged twice nor re-decided, and re-emitting the identical
    event (same ``event_id``) is safe: consumers drop it by id. Re-emitting, rather
    than emitting nothing, closes a gap: if the worker stopped after the record was
    written but before the event reached Kafka, the redelivery still emits it.
    """
    if record is not None:
        return record, record.decision
    decision = authorize(order, rules, at=at)
    return PaymentRecord(decision=decision), decision


_record_encoder = msgspec.json.Encoder(decimal_format="string")
_record_decoder = msgspec.json.Decoder(PaymentRecord)


def dump_record(record: PaymentRecord) -> bytes:
    """A record as the bytes kept in the ledger table and its changelog."""
    return _record_encoder.encode(record)


def load_record(data: bytes) -> PaymentRecord:
    """The record ``dump_record`` wrote."""
    return _record_decoder.decode(data)
