"""The saga's decisions, pure: what is known about each order, and how it ends.

Per order the saga keeps a ``SagaState``: ``Pending`` while it correlates the
``OrderPlaced``, the payment answer and the inventory answer, then a small ``Decided``
marker that holds the one outcome it emitted. Two functions drive it, one per kind of
input; both return a ``SagaStep``, the state to keep (``None``: forget the order) and the
outcome events to emit::

    react(state, OrderPlaced | PaymentAuthorized | PaymentDeclined
                 | InventoryReserved | InventoryRejected)   -> SagaStep
    tick(state, DeadlineTick)                                -> SagaStep

``react`` is ``evolve`` (record the event) followed by ``decide`` (is the outcome
settled?). The outcome is a function of the answers alone, checked in this order:

1. payment declined                        -> ``OrderCancelled(payment_declined)``
2. payment authorized, inventory rejected  -> ``OrderCancelled(out_of_stock)``
3. payment authorized, inventory reserved  -> ``OrderCompleted``
4. otherwise, once the deadline has passed -> ``OrderCancelled(out_of_stock)`` if the
   inventory rejected the order, else ``OrderCancelled(timeout)``

The saga decides as soon as the answers it holds settle this function whatever the
missing ones say: a decline at once, a rejection only with the payment's answer (a
decline would take precedence) or at the deadline. So the outcome, reason and detail
included, does not depend on the order in which the three topics deliver, nor on
duplicates. Only the deadline races with the answers: a deadline that fires before
the last answer arrives decides with what is known by then.

Rules that keep it at least once and replay safe:

- Each participant's first answer is kept; participants never change their answer
  (they re-emit the identical event), so a later copy changes nothing.
- Once decided, an order is never decided again: every later event is ignored, except
  a redelivery of the very event that decided it (same ``event_id``), which emits the
  recorded outcome again, byte for byte. A crash can lose the outcome send after its
  marker was written; the redelivery repairs that, and consumers drop the copy by id.
- The outcome's ``event_id`` is ``outcome_id(order_id, cls)``, derived from the order
  id alone, so any re-decision of an order (after a crash, a replay) carries the same
  id whichever event happened to trigger it.
- The deadline counts from when the saga first saw the order's ``OrderPlaced`` (its
  own clock, ``now``), or from the event's ``occurred_at`` if that is later (a gateway
  clock ahead of the saga's): ``max(occurred_at, now) + Timing.deadline``. Never from
  ``occurred_at`` alone: an outage upstream (the outbox relay, the broker, a backlog)
  delays the ``OrderPlaced`` and so delays the outcome, but does not turn an accepted
  order into a timeout. The deadline is how long the participants have to answer once
  the order is flowing, not how old the order may be.
- The clock is the ``DeadlineTick``: a tick decides the orders of its own partition
  only (``partition`` recorded from the message that created the state), and is
  honoured only up to the saga's own wall clock (``tick(..., now=)``): a tick dated in
  the future counts as now, so it cannot cancel an order before its deadline has
  really passed. (A tick carries no authenticated source, only the ticker's
  ``correlation_id``; the clamp is what makes a forged tick harmless.)
- An order whose ``OrderPlaced`` was not seen gets no deadline. Such a state comes from
  an answer that overtook its ``OrderPlaced`` (decided when both answers are in, like
  any other), or from a very late event of a saga already forgotten: timing that one
  out would cancel an order that was completed long ago. It is forgotten silently
  ``deadline + retention`` after it was created.
- Forgetting (the trade-off): a ``Decided`` marker is deleted ``Timing.retention``
  after the decision, or after the deadline if that is later, so the table and its
  changelog hold minutes of orders, not all of them. An event arriving after that is
  not recognised. Both answers arriving again after the marker is gone re-decide the
  order from them, which repeats the original outcome (same id) unless that outcome
  was a timeout.

Late orders (the rule every participant follows, kept here as its one home). The
participants treat an event as *stale* when it is older than their staleness horizon
(``payment.domain.Retention.settled`` and ``inventory.domain.STALE_AFTER``, 10 min by
default) and they hold no record of its order: payment then charges nothing and
inventory reserves nothing, both emit nothing. The saga still gives such an
``OrderPlaced`` its deadline (counted from when it saw it), so an order first delivered
that late is cancelled with reason ``timeout`` ("no answer from payment and inventory
by the deadline") and never stays PENDING. The cancellation is then recorded by both
participants as a tombstone, so if the ``OrderPlaced`` reaches one of them again it is
reserved and released (inventory) or authorized and refunded (payment) at once: net
charge 0, every reserved unit released. A participant that was not behind answers
normally and compensates the cancellation as usual. An ``OrderPlaced`` that is late
but within the horizon (an outage of seconds or minutes) is answered by both and
decided by the answers, as if it had not been late.

The price of that rule: an ``OrderPlaced`` seen again after its marker was forgotten (a
copy republished more than ``deadline + retention`` after the first, or a saga group
replaying from an offset older than its markers) gets a new deadline too. Inventory,
which keeps its records for the topics' retention, answers it again with its original
decision, but payment has forgotten the order and ignores it, so the saga times it
out again. For an order that timed out the first time this repeats the outcome (same
id); for one decided otherwise it is a second, contradicting outcome, which moves no
money or stock (payment records a tombstone with nothing to refund; inventory keeps
its first outcome) but is published. A copy that late cannot be told apart from a first
delivery that late without a publish time stamped by the relay (not in the contract).

Clocks: times are timezone-aware UTC; the gateway's, the participants' and the saga's
clocks are assumed to agree to well within the retention.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import msgspec

from contracts import (
    DeadlineTick,
    Event,
    InventoryRejected,
    InventoryReserved,
    OrderCancelled,
    OrderCompleted,
    OrderOutcome,
    OrderPlaced,
    PaymentAuthorized,
    PaymentDeclined,
    derived_id,
)
from contracts.events import CancelReason

#: The events a saga reacts to (ticks aside).
SagaInput = (
    OrderPlaced | PaymentAuthorized | PaymentDeclined | InventoryReserved | InventoryRejected
)
#: What a saga emits, once per order.
PaymentAnswer = PaymentAuthorized | PaymentDeclined
InventoryAnswer = InventoryReserved | InventoryRejected

#: ``OrderCancelled.detail`` holds at most this many characters.
DETAIL_LIMIT = 2_000


@dataclass(frozen=True)
class Timing:
    """How long an order may stay undecided, and how long a decision is remembered."""

    deadline: timedelta = timedelta(seconds=30)
    """From when the saga first saw an order's ``OrderPlaced`` (or its ``occurred_at``,
    if later) to the cancellation of the order if it is still undecided."""
    retention: timedelta = timedelta(minutes=10)
    """How long a ``Decided`` marker outlives the decision (or the deadline, if later)."""

    def __post_init__(self) -> None:
        if self.deadline <= timedelta(0):
            raise ValueError(f"deadline must be positive, got {self.deadline}")
        if self.retention < timedelta(0):
            raise ValueError(f"retention must not be negative, got {self.retention}")


#: 30 s to decide, 10 min to remember.
DEFAULT_TIMING = Timing()


class Pending(msgspec.Struct, frozen=True, kw_only=True, tag_field="state", tag="pending"):
    """An order the saga has heard of but not decided: the first event of each kind.

    ``partition`` is where the state's first event was read: every later event of the
    order arrives there too (co-partitioning), and only that partition's ticks touch
    it. ``since`` is when the saga first heard of the order. ``deadline`` is set when
    the ``OrderPlaced`` is seen and is ``None`` without one (see the module docstring).
    """

    order_id: str
    partition: int
    since: datetime
    deadline: datetime | None = None
    placed: OrderPlaced | None = None
    payment: PaymentAnswer | None = None
    inventory: InventoryAnswer | None = None


class Decided(msgspec.Struct, frozen=True, kw_only=True, tag_field="state", tag="decided"):
    """The marker of a decided order: its outcome, kept until ``forget_at``.

    The outcome is kept whole so a redelivery of the event that decided it can emit it
    again unchanged (``outcome.causation_id`` names that event).
    """

    partition: int
    forget_at: datetime
    outcome: OrderOutcome


#: What the saga keeps per order (the value of its table).
SagaState = Pending | Decided


class SagaStep(NamedTuple):
    """The result of one input: the state to keep (``None``: delete it) and what to emit."""

    state: SagaState | None
    emit: tuple[OrderOutcome, ...] = ()


# -- the two entry points ---------------------------------------------------------


def react(
    state: SagaState | None,
    event: SagaInput,
    *,
    partition: int,
    now: datetime,
    timing: Timing = DEFAULT_TIMING,
) -> SagaStep:
    """Handle one order event: record it, and emit the outcome once it is settled.

    ``partition`` is where ``event`` was read (kept when it creates the state), ``now``
    the saga's clock, used to stamp a new state and the outcome and to tell a fresh
    ``OrderPlaced`` from a stale one. On a ``Decided`` state nothing changes; the
    recorded outcome is emitted again only if ``event`` is the one that decided it.
    """
    if isinstance(state, Decided):
        return SagaStep(state, _replayed(state, event))
    pending = evolve(state, event, partition=partition, now=now, timing=timing)
    outcome = decide(pending, cause=event, at=now)
    if outcome is None:
        return SagaStep(pending)
    return SagaStep(record_decision(pending, outcome, now=now, timing=timing), (outcome,))


def tick(
    state: SagaState,
    clock: DeadlineTick,
    *,
    timing: Timing = DEFAULT_TIMING,
    now: datetime | None = None,
) -> SagaStep:
    """Let time pass for one order: ``tick_time(clock, now)`` is now.

    ``now`` is the saga's own wall clock: the tick's ``occurred_at`` is honoured only up
    to it, so a tick dated in the future (forged, or from a clock running ahead) acts
    as a tick at ``now`` (``None``: the tick's time as is, for replays in tests).

    A tick only touches an order of its own partition (``clock.partition``); any other
    state is returned unchanged. For its partition it:

    - cancels a ``Pending`` order whose deadline has passed (``decide`` with the
      deadline expired; the tick is the outcome's cause);
    - forgets a ``Pending`` order without deadline ``deadline + retention`` after
      ``since``, emitting nothing;
    - forgets a ``Decided`` marker at ``forget_at``;
    - emits a ``Decided`` order's outcome again if this very tick decided it (a
      redelivered tick, after a crash).
    """
    if state.partition != clock.partition:
        return SagaStep(state)
    now = tick_time(clock, now)
    if isinstance(state, Decided):
        if now >= state.forget_at:
            return SagaStep(None)
        return SagaStep(state, _replayed(state, clock))
    if state.deadline is None:
        forgotten = now >= state.since + timing.deadline + timing.retention
        return SagaStep(None if forgotten else state)
    if now < state.deadline:
        return SagaStep(state)
    outcome = decide(state, cause=clock, at=now, expired=True)
    assert outcome is not None  # an expired deadline always decides
    return SagaStep(record_decision(state, outcome, now=now, timing=timing), (outcome,))


# -- the pieces ---------------------------------------------------------------------


def evolve(
    state: Pending | None,
    event: SagaInput,
    *,
    partition: int,
    now: datetime,
    timing: Timing = DEFAULT_TIMING,
) -> Pending:
    """Record ``event`` in ``state`` (a new ``Pending`` when ``None``).

    Only the first event of each kind is kept; a duplicate, or any other copy, leaves
    the state equal. A new state gets ``partition`` and ``since=now``. The first
    ``OrderPlaced`` sets the deadline, ``max(occurred_at, now) + timing.deadline``:
    counted from when the saga sees the order, however late it was delivered (see
    the module docstring).
    """
    if state is None:
        state = Pending(order_id=event.order_id, partition=partition, since=now)
    if isinstance(event, OrderPlaced):
        if state.placed is not None:
            return state
        deadline = max(event.occurred_at, now) + timing.deadline
        return msgspec.structs.replace(state, placed=event, deadline=deadline)
    if isinstance(event, PaymentAuthorized | PaymentDeclined):
        return state if state.payment is not None else msgspec.structs.replace(state, payment=event)
    if state.inventory is not None:
        return state
    return msgspec.structs.replace(state, inventory=event)


def decide(
    state: Pending, *, cause: Event, at: datetime, expired: bool = False
) -> OrderOutcome | None:
    """The outcome the answers in ``state`` settle, or ``None`` while it is still open.

    See the rules in the module docstring; ``expired`` says the deadline has passed, so
    missing answers count as missing for good. ``cause`` becomes the outcome's
    ``causation_id`` and ``at`` its ``occurred_at``.
    """
    payment, inventory = state.payment, state.inventory
    if isinstance(payment, PaymentDeclined):
        return _cancelled(state, "payment_declined", payment.reason, cause=cause, at=at)
    if isinstance(payment, PaymentAuthorized) or expired:
        if isinstance(inventory, InventoryRejected):
            return _cancelled(state, "out_of_stock", shortage_detail(inventory), cause=cause, at=at)
        if isinstance(payment, PaymentAuthorized) and isinstance(inventory, InventoryReserved):
            return OrderCompleted(
                event_id=outcome_id(state.order_id, OrderCompleted),
                occurred_at=at,
                order_id=state.order_id,
                correlation_id=_correlation_id(state),
                causation_id=str(cause.event_id),
                user_id=payment.user_id,
                amount=payment.amount,
                currency=payment.currency,
            )
    if expired:
        return _cancelled(state, "timeout", timeout_detail(state), cause=cause, at=at)
    return None


def record_decision(
    state: Pending, outcome: OrderOutcome, *, now: datetime, timing: Timing = DEFAULT_TIMING
) -> Decided:
    """The marker that replaces ``state`` once ``outcome`` is decided at ``now``.

    It is forgotten ``retention`` after the decision or after the deadline, whichever
    is later; without a deadline, ``now + deadline`` stands in for it (the order was
    placed before ``now``). Either way the marker outlives
    ``OrderPlaced.occurred_at + deadline + retention``: a copy of the ``OrderPlaced``
    delivered within that time always finds it.
    """
    horizon = state.deadline if state.deadline is not None else now + timing.deadline
    return Decided(
        partition=state.partition, forget_at=max(now, horizon) + timing.retention, outcome=outcome
    )


def tick_time(clock: DeadlineTick, now: datetime | None = None) -> datetime:
    """The time ``clock`` stands for: its ``occurred_at``, but never later than ``now``
    (the saga's wall clock; ``None``: no limit)."""
    return clock.occurred_at if now is None else min(clock.occurred_at, now)


def due_at(state: SagaState, timing: Timing = DEFAULT_TIMING) -> datetime:
    """When a tick must next look at ``state``: its deadline, or when it is forgotten.

    Before that time ``tick`` leaves the state as it is (a redelivered deciding tick
    aside), so a worker can index states by this time instead of visiting them all.
    """
    if isinstance(state, Decided):
        return state.forget_at
    if state.deadline is not None:
        return state.deadline
    return state.since + timing.deadline + timing.retention


def outcome_id(order_id: str, cls: type[OrderOutcome]) -> uuid.UUID:
    """The ``event_id`` of the ``cls`` outcome of an order: ``derived_id(order_id, type)``.

    Derived from the order id alone (not from the event that triggered the decision),
    so it is the same whichever event decides, after a crash or in a replay, and any
    service can compute it from the order id.
    """
    return derived_id(order_id, cls.wire_type())


def shortage_detail(rejected: InventoryRejected) -> str:
    """``"p-1: requested 3, available 1; ..."``, the short lines of a rejection."""
    text = "; ".join(
        f"{s.product_id}: requested {s.requested}, available {s.available}"
        for s in rejected.shortages
    )
    return _clip(text or "out of stock")


def timeout_detail(state: Pending) -> str:
    """Which answers were missing when the deadline passed."""
    missing = [
        name
        for name, answer in (("payment", state.payment), ("inventory", state.inventory))
        if answer is None
    ]
    if not missing:  # both in but undecided cannot happen; keep the text honest anyway
        return "no decision by the deadline"
    return f"no answer from {' and '.join(missing)} by the deadline"


# -- the table's bytes ----------------------------------------------------------------

_encoder = msgspec.json.Encoder(decimal_format="string")
_decoder: msgspec.json.Decoder[SagaState] = msgspec.json.Decoder(SagaState)


def dump_state(state: SagaState) -> bytes:
    """A state as the bytes kept in the saga table and its changelog."""
    return _encoder.encode(state)


def load_state(data: bytes) -> SagaState:
    """The state ``dump_state`` wrote."""
    return _decoder.decode(data)


# -- helpers ------------------------------------------------------------------------


def _replayed(state: Decided, event: Event) -> tuple[OrderOutcome, ...]:
    return (state.outcome,) if state.outcome.causation_id == str(event.event_id) else ()


def _cancelled(
    state: Pending, reason: CancelReason, detail: str, *, cause: Event, at: datetime
) -> OrderCancelled:
    return OrderCancelled(
        event_id=outcome_id(state.order_id, OrderCancelled),
        occurred_at=at,
        order_id=state.order_id,
        correlation_id=_correlation_id(state),
        causation_id=str(cause.event_id),
        user_id=_user_id(state),
        reason=reason,
        detail=_clip(detail),
    )


def _correlation_id(state: Pending) -> str:
    for event in (state.placed, state.payment, state.inventory):
        if event is not None:
            return event.correlation_id
    return state.order_id  # unreachable: a state exists because an event arrived


def _user_id(state: Pending) -> str:
    # A cancellation always has one of them: the deadline needs the OrderPlaced, and
    # every other reason needs a payment answer (see ``decide``).
    for event in (state.placed, state.payment):
        if event is not None:
            return event.user_id
    raise ValueError(f"order {state.order_id}: no user id known to cancel it")


def _clip(text: str) -> str:
    return text if len(text) <= DETAIL_LIMIT else text[: DETAIL_LIMIT - 1] + "…"
