"""Payment decisions, pure: which orders are charged, what is refunded, what is remembered.

Authorization. The rules, checked in this order; the first that matches declines:

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

Compensation. Per order the worker keeps one ``PaymentRecord`` and reacts to three
events, each with a pure function that returns a ``PaymentStep`` (the record to keep, the
events to emit)::

    decide_charge(record, OrderPlaced)                       -> PaymentStep   # authorize or decline
    compensate(record, OrderCancelled | OrderCompleted) -> PaymentStep   # refund, or decide_charge

- ``OrderCancelled`` after an authorization refunds it: one ``PaymentRefunded`` for
  the authorized amount, with the cancellation's reason. A declined order needs nothing.
- ``OrderCancelled`` before the ``OrderPlaced`` (the saga timed the order out while
  payment was behind) leaves a tombstone. When the ``OrderPlaced`` arrives it is decided
  by the rules as usual and, if authorized, refunded at once: both events are emitted
  and the net charge is zero. The order stays cancelled.
- ``OrderCompleted`` only marks the record settled (nothing to emit).
- The first outcome recorded is final: the saga emits one per order, and a
  contradicting second one would be ignored.

Idempotence: every event id is derived (``contracts.derived_id``) from the event that
caused it: the decision from the ``OrderPlaced``, the refund from the ``OrderCancelled``.
A redelivered event re-emits exactly what handling it emitted the first time, rebuilt
byte for byte from the record (a crash may have lost the first send; consumers drop the
copy by id): an ``OrderPlaced`` re-emits the decision (and the refund when there is
one), an ``OrderCancelled`` the refund. Nothing is ever decided or refunded twice, and
the final record and net charge do not depend on the order in which the three topics
deliver, nor on duplicates.

Retention (``Retention``): the ledger holds a window of orders, not all of them. A
record is forgotten ``Retention.settled`` after its last change once the order has an
outcome (or is a tombstone), and ``Retention.pending`` after it when an authorization
still awaits its outcome (money is in flight: kept as long as Kafka keeps the events,
so a late cancellation is still refunded). To make forgetting safe, an event older than
``Retention.settled`` for which no record exists is stale and ignored: its order may
have been settled and forgotten, so it must not be decided again. Hence, for an
``OrderPlaced``, ``OrderCancelled`` or ``OrderCompleted`` redelivered or replayed:

- within the retention: its record answers, with the identical events;
- after it: nothing is emitted and nothing charged (the decision and any refund went
  out long ago). A new consumer group replaying old orders likewise charges nothing.

An ``OrderPlaced`` first delivered that late (an outbox or broker outage longer than
``Retention.settled``) is thus never charged: the saga times it out from when it saw it
and the cancellation leaves a tombstone here, so a later copy of the order is
authorized and refunded at once (net charge 0). Inventory applies the same rule; how
the three services treat a late order is described once, in ``saga.domain``. An
``OrderPlaced`` late by less than ``Retention.settled`` is decided as usual.

Keep ``Retention.settled`` well above the saga's deadline, so that a delay of the order
of the deadline is never taken for staleness. Clocks: times are timezone-aware; the
gateway's, the saga's and payment's clocks are assumed to agree to well within the
retention.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, NamedTuple

import msgspec

from contracts import (
    OrderCompleted,
    OrderOutcome,
    OrderPlaced,
    PaymentAuthorized,
    PaymentDeclined,
    PaymentRefunded,
    derived_id,
    reaction,
)

#: What ``authorize`` decides for one order.
Decision = PaymentAuthorized | PaymentDeclined
#: Every event the payment service emits.
PaymentEvent = PaymentAuthorized | PaymentDeclined | PaymentRefunded
#: The saga's outcomes, which ``compensate`` reacts to.

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


@dataclass(frozen=True)
class Retention:
    """How long the ledger remembers an order after the last change of its record."""

    settled: timedelta = timedelta(minutes=10)
    """A record with an outcome, a tombstone or a decline; also the age beyond which an
    event without a record is stale (see the module docstring). Must exceed the saga's
    deadline."""
    pending: timedelta = timedelta(days=7)
    """An authorization awaiting its outcome: a later cancellation must still refund it.
    Seven days is how long the platform's topics keep events."""

    def __post_init__(self) -> None:
        if self.settled < timedelta(0):
            raise ValueError(f"settled retention must not be negative, got {self.settled}")
        if self.pending < self.settled:
            raise ValueError(
                f"pending retention ({self.pending}) must be at least the settled one "
                f"({self.settled})"
            )


#: Ten minutes for settled orders (like the saga's markers), seven days for money in flight.
DEFAULT_RETENTION = Retention()


class Charge(msgspec.Struct, frozen=True, array_like=True):
    """What ``authorize`` decided, as the few fields that rebuild its event exactly.

    The event id is ``derived_id(placed_id, <wire type>)`` and the causation id is
    ``placed_id``; the order id is the ledger key.
    """

    #: The ``event_id`` of the ``OrderPlaced`` that was decided.
    placed_id: uuid.UUID
    correlation_id: str
    decided_at: datetime
    user_id: str
    amount: Decimal
    currency: str
    #: The decline reason; ``None`` when authorized.
    declined: str | None = None

    @property
    def authorized(self) -> bool:
        """Whether the order was charged."""
        return self.declined is None


class Cancellation(msgspec.Struct, frozen=True, array_like=True):
    """The order's ``OrderCancelled``, and when its authorization was refunded."""

    #: The ``event_id`` of the ``OrderCancelled``: the cause of the refund.
    cancel_id: uuid.UUID
    reason: str
    #: ``None`` while there is nothing to refund (declined, or not decided yet).
    refunded_at: datetime | None = None


class PaymentRecord(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """Everything the payment service did for one order: the value of its ledger table.

    Compact on purpose (one per order in RAM): the events are rebuilt from it, byte for
    byte, by ``decision_of`` and ``refund_of``. A record without a ``charge`` is a
    tombstone: the outcome arrived before the ``OrderPlaced``.
    """

    #: When the record last changed; its retention counts from here.
    changed_at: datetime
    charge: Charge | None = None
    cancelled: Cancellation | None = None
    completed: bool = False

    @property
    def status(self) -> Literal["awaiting_order", "authorized", "declined", "refunded"]:
        """Where the order's payment stands."""
        if self.charge is None:
            return "awaiting_order"
        if self.cancelled is not None and self.cancelled.refunded_at is not None:
            return "refunded"
        return "authorized" if self.charge.authorized else "declined"

    @property
    def outcome(self) -> Literal["completed", "cancelled"] | None:
        """The saga's outcome, once it was seen (the first one wins)."""
        if self.cancelled is not None:
            return "cancelled"
        return "completed" if self.completed else None

    @property
    def net_charge(self) -> Decimal:
        """What the customer is charged for the order now: the amount, or zero."""
        return self.charge.amount if self.status == "authorized" and self.charge else Decimal(0)


class PaymentStep(NamedTuple):
    """What handling one event leads to: the record to keep and the events to emit.

    ``record`` is ``None`` only when there was none and the event was stale; it is the
    very object passed in when nothing changed.
    """

    record: PaymentRecord | None
    emit: tuple[PaymentEvent, ...]


def decide_charge(
    record: PaymentRecord | None,
    order: OrderPlaced,
    rules: PaymentRules,
    *,
    at: datetime | None = None,
    retention: Retention = DEFAULT_RETENTION,
) -> PaymentStep:
    """React to ``order`` given what was recorded for it.

    The first ``OrderPlaced`` of an order is decided by ``authorize`` and recorded. If a
    cancellation came first (a tombstone), an authorization is refunded at once: both
    are emitted. Any later ``OrderPlaced`` (a redelivery, a republished copy, a replay)
    changes nothing: the recorded decision, and refund if any, are emitted again,
    identical, whatever the rules say now. Re-emitting, rather than emitting nothing,
    closes a gap: if the worker stopped after the record was written but before the
    events reached Kafka, the redelivery still emits them.

    ``at`` is now (the clock of the decision and of the retention), the current time
    when omitted. Without a record, an order older than ``retention.settled`` is stale:
    nothing is decided, emitted or recorded.
    """
    now = _utc(at)
    if record is None:
        if _stale(order.occurred_at, now, retention):
            return PaymentStep(None, ())
        record = PaymentRecord(changed_at=now, charge=_charge(order, rules, now))
    elif record.charge is None:
        charge = _charge(order, rules, now)
        cancelled = record.cancelled
        if cancelled is not None and charge.authorized:
            cancelled = msgspec.structs.replace(cancelled, refunded_at=now)
        record = msgspec.structs.replace(record, changed_at=now, charge=charge, cancelled=cancelled)
    assert record.charge is not None
    return PaymentStep(
        record, (decision_of(record.charge, order.order_id), *_refunds(record, order))
    )


def compensate(
    record: PaymentRecord | None,
    outcome: OrderOutcome,
    *,
    at: datetime | None = None,
    retention: Retention = DEFAULT_RETENTION,
) -> PaymentStep:
    """React to the saga's ``outcome`` for an order given what was recorded for it.

    ``OrderCancelled``: an authorized charge is refunded (``PaymentRefunded`` of the
    authorized amount, with the cancellation's reason); a declined one needs nothing;
    without a decision yet, the cancellation is recorded as a tombstone for ``settle``.
    ``OrderCompleted``: the record is marked completed; nothing is emitted.

    The first outcome recorded is final. A redelivered ``OrderCancelled`` re-emits the
    recorded refund, identical (its id derives from the first cancellation), so an order
    is refunded at most once. Without a record, an outcome older than
    ``retention.settled`` is stale and ignored; ``at`` is now, as for ``settle``.
    """
    now = _utc(at)
    if record is None:
        if _stale(outcome.occurred_at, now, retention):
            return PaymentStep(None, ())
        record = PaymentRecord(changed_at=now)
    elif record.outcome is not None:
        return PaymentStep(record, _refunds(record, outcome))
    if isinstance(outcome, OrderCompleted):
        return PaymentStep(msgspec.structs.replace(record, changed_at=now, completed=True), ())
    refunded = now if record.charge is not None and record.charge.authorized else None
    cancelled = Cancellation(
        cancel_id=outcome.event_id, reason=outcome.reason, refunded_at=refunded
    )
    record = msgspec.structs.replace(record, changed_at=now, cancelled=cancelled)
    return PaymentStep(record, _refunds(record, outcome))


def forget_at(record: PaymentRecord, retention: Retention = DEFAULT_RETENTION) -> datetime:
    """When ``record`` may be deleted from the ledger (see ``Retention``)."""
    in_flight = record.outcome is None and record.charge is not None and record.charge.authorized
    return record.changed_at + (retention.pending if in_flight else retention.settled)


def decision_of(charge: Charge, order_id: str) -> Decision:
    """The decision event ``charge`` records for ``order_id``, as ``authorize`` built it."""
    common: dict[str, Any] = {
        "order_id": order_id,
        "correlation_id": charge.correlation_id,
        "causation_id": str(charge.placed_id),
        "occurred_at": charge.decided_at,
        "user_id": charge.user_id,
        "amount": charge.amount,
        "currency": charge.currency,
    }
    if charge.declined is None:
        event_id = derived_id(charge.placed_id, PaymentAuthorized.wire_type())
        return PaymentAuthorized(event_id=event_id, **common)
    event_id = derived_id(charge.placed_id, PaymentDeclined.wire_type())
    return PaymentDeclined(event_id=event_id, reason=charge.declined, **common)


def refund_of(record: PaymentRecord, order_id: str) -> PaymentRefunded | None:
    """The refund ``record`` holds for ``order_id``, or ``None`` when nothing was refunded.

    A reaction to the ``OrderCancelled`` (its id derives from the cancellation's), in the
    order's flow (the ``OrderPlaced``'s correlation id), for the authorized amount.
    """
    charge, cancelled = record.charge, record.cancelled
    if charge is None or cancelled is None or cancelled.refunded_at is None:
        return None
    return PaymentRefunded(
        event_id=derived_id(cancelled.cancel_id, PaymentRefunded.wire_type()),
        occurred_at=cancelled.refunded_at,
        order_id=order_id,
        correlation_id=charge.correlation_id,
        causation_id=str(cancelled.cancel_id),
        user_id=charge.user_id,
        amount=charge.amount,
        currency=charge.currency,
        reason=cancelled.reason,
    )


def net_charge(events: Iterable[PaymentEvent]) -> Decimal:
    """What ``events`` charge in total: authorizations minus refunds, each event id once."""
    unique = {event.event_id: event for event in events}.values()
    return sum((e.amount for e in unique if isinstance(e, PaymentAuthorized)), Decimal(0)) - sum(
        (e.amount for e in unique if isinstance(e, PaymentRefunded)), Decimal(0)
    )


def _charge(order: OrderPlaced, rules: PaymentRules, now: datetime) -> Charge:
    return Charge(
        placed_id=order.event_id,
        correlation_id=order.correlation_id,
        decided_at=now,
        user_id=order.user_id,
        amount=order.amount,
        currency=order.currency,
        declined=decline_reason(order, rules),
    )


def _refunds(
    record: PaymentRecord, cause: OrderPlaced | OrderOutcome
) -> tuple[PaymentRefunded, ...]:
    if isinstance(cause, OrderCompleted):
        return ()
    refund = refund_of(record, cause.order_id)
    return () if refund is None else (refund,)


def _stale(occurred_at: datetime, now: datetime, retention: Retention) -> bool:
    return occurred_at < now - retention.settled


def _utc(at: datetime | None) -> datetime:
    """``at`` (or now) in UTC: a record rebuilds its events with the same wire bytes."""
    if at is None:
        return datetime.now(UTC)
    if at.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return at.astimezone(UTC)


_record_encoder = msgspec.msgpack.Encoder(decimal_format="string", uuid_format="bytes")
_record_decoder = msgspec.msgpack.Decoder(PaymentRecord)


class _LegacyRecord(msgspec.Struct, frozen=True):
    """The first ledger format (JSON with the decision event whole), still in old changelogs."""

    decision: PaymentAuthorized | PaymentDeclined
    refund: PaymentRefunded | None = None


_legacy_decoder = msgspec.json.Decoder(_LegacyRecord)


def dump_record(record: PaymentRecord) -> bytes:
    """A record as the bytes kept in the ledger table and its changelog (MessagePack)."""
    return _record_encoder.encode(record)


def load_record(data: bytes) -> PaymentRecord:
    """The record ``dump_record`` wrote, or one of the first (JSON) format, converted."""
    if data[:1] != b"{":
        return _record_decoder.decode(data)
    legacy = _legacy_decoder.decode(data)
    decision = legacy.decision
    charge = Charge(
        placed_id=uuid.UUID(decision.causation_id),
        correlation_id=decision.correlation_id,
        decided_at=decision.occurred_at,
        user_id=decision.user_id,
        amount=decision.amount,
        currency=decision.currency,
        declined=decision.reason if isinstance(decision, PaymentDeclined) else None,
    )
    return PaymentRecord(changed_at=decision.occurred_at, charge=charge)
