"""The auditor's rules: what the saga's events say about one order, and which promises
the order breaks. Pure functions over plain values: no Faust, no Kafka.

Each order's facts (``OrderFacts``) keep the *distinct* events seen, by ``event_id``: a
redelivered or replayed event changes nothing (``fold`` returns the same object), so
the verdict cannot count it twice. The verdict (``verdict``) is recomputed from the
facts whenever they change and as time passes; it is a set of kinds, so an order
counts once per broken promise, however often its events arrive.

The promises (kind names are ``contracts.AuditKind``):

- ``double_charged``: more than one distinct ``PaymentAuthorized`` (``double_charged``).
- ``duplicate_notices``: more than one distinct ``NotificationSent``.
- ``conflicting_outcomes``: both an ``OrderCompleted`` and an ``OrderCancelled``, or two
  distinct outcomes.
- ``overdue``: an ``OrderPlaced`` without an outcome ``deadline + grace`` after it.
- the rest are settled ``grace`` after the outcome (refunds, releases and the notice
  follow the outcome; ``grace`` also covers topics read at different speeds):
  ``wrong_charge`` (net charge, authorized minus refunded, is not the order's total when
  completed, or 0 when cancelled: ``expected_net_charge``), ``oversold`` and
  ``stock_leak`` (``reservation_problem``), ``lost`` (the order's notice never came).

An order whose ``OrderPlaced`` the auditor has not seen is not judged beyond the kinds no
later event can mend, nor counted as audited or pending: its history began before the
auditor's (a group started at the end of the topics, a retry or redrive of an older
order), so a missing reservation or notice may just be out of its sight. It is judged
as soon as its ``OrderPlaced`` arrives (topics read at different speeds). That an
accepted order never reached ``orders.v1`` is the gateway's promise, checked by
`sagactl chaos` against what the gateway accepted.

Per product, "reserved = committed + released" is the sum over orders of each order's
own balance (a completed order commits what it reserved and releases nothing, a
cancelled one releases all it reserved), which ``reservation_problem`` checks per order.
The auditor does not read ``inventory.stock.v1``: it is keyed by product, so it is not
co-partitioned with the order-keyed table, and its ``available`` cannot be negative by
contract (``Count``).

Time is what the caller says it is: the agent passes the Kafka timestamp of each
record, and as ``now`` the time up to which every input of the partition has been read
(``checked_at``), so a catch-up or a replay never sees an order as overdue because its
outcome's topic is read later than its order's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import get_args

import msgspec

from contracts import (
    AuditedOrder,
    AuditKind,
    AuditSummary,
    InventoryReleased,
    InventoryReserved,
    NotificationSent,
    OrderCancelled,
    OrderCompleted,
    OrderPlaced,
    PaymentAuthorized,
    PaymentRefunded,
)

#: Every kind, in the order summaries and the dashboard list them.
KINDS: tuple[AuditKind, ...] = get_args(AuditKind)
#: At most this many violating orders are named in one partition's summary.
MAX_NAMED = 50

#: The events the auditor reads (their topics are co-partitioned by order id).
AuditedEvent = (
    OrderPlaced
    | PaymentAuthorized
    | PaymentRefunded
    | InventoryReserved
    | InventoryReleased
    | OrderCompleted
    | OrderCancelled
    | NotificationSent
)


@dataclass(frozen=True)
class Timing:
    """The saga's deadline, and how long after a due time the auditor waits before it
    calls something missing."""

    deadline: float = 30.0
    grace: float = 30.0


class OrderFacts(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The distinct events of one order, by event id (times in seconds since the epoch)."""

    #: When the first of its events was recorded.
    first_at: float
    placed_at: float | None = None
    amount: str | None = None
    #: event id -> amount (authorizations, refunds)
    charges: dict[str, str] = {}
    refunds: dict[str, str] = {}
    #: event id -> (completed?, when recorded)
    outcomes: dict[str, tuple[bool, float]] = {}
    notices: dict[str, float] = {}
    #: event id -> units reserved / released
    reserved: dict[str, int] = {}
    released: dict[str, int] = {}


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(OrderFacts)


def dump(facts: OrderFacts) -> bytes:
    return _encoder.encode(facts)


def load(data: bytes) -> OrderFacts:
    return _decoder.decode(data)


def _with(facts: OrderFacts, name: str, key: str, value: object) -> OrderFacts:
    current: dict[str, object] = getattr(facts, name)
    if key in current:
        return facts
    return msgspec.structs.replace(facts, **{name: {**current, key: value}})


def fold(facts: OrderFacts | None, event: AuditedEvent, at: float) -> OrderFacts:
    """``facts`` with ``event`` (recorded at ``at``) added; the same object when the event
    was seen before (same ``event_id``) or adds nothing."""
    if facts is None:
        facts = OrderFacts(first_at=at)
    eid = str(event.event_id)
    match event:
        case OrderPlaced():
            if facts.placed_at is not None:
                return facts
            return msgspec.structs.replace(facts, placed_at=at, amount=str(event.amount))
        case PaymentAuthorized():
            return _with(facts, "charges", eid, str(event.amount))
        case PaymentRefunded():
            return _with(facts, "refunds", eid, str(event.amount))
        case InventoryReserved():
            return _with(facts, "reserved", eid, sum(line.quantity for line in event.items))
        case InventoryReleased():
            return _with(facts, "released", eid, sum(line.quantity for line in event.items))
        case OrderCompleted() | OrderCancelled():
            return _with(facts, "outcomes", eid, (isinstance(event, OrderCompleted), at))
        case NotificationSent():
            return _with(facts, "notices", eid, at)
    return facts


def last_at(facts: OrderFacts) -> float:
    """When the newest of the order's events was recorded."""
    times = [facts.first_at, *facts.notices.values()]
    times += (at for _, at in facts.outcomes.values())
    if facts.placed_at is not None:
        times.append(facts.placed_at)
    return max(times)


# -- the rules (shared with harness.ledger, which checks a finished run offline) ------------


def expected_net_charge(completed: bool, total: Decimal) -> Decimal:
    """What an order must have cost its customer once refunds settled: its total if it
    completed, nothing if it was cancelled."""
    return total if completed else Decimal(0)


def double_charged(authorizations: int) -> bool:
    """More than one distinct authorization of one order is a double charge."""
    return authorizations > 1


def reservation_problem(completed: bool, reservations: int, releases: int) -> str | None:
    """What is wrong with an order's stock, from its distinct reservations and releases
    (``None``: nothing). A completed order commits its one reservation and releases
    nothing; a cancelled order releases what it reserved."""
    if reservations > 1 or releases > 1:
        return "reserved or released twice"
    if completed and not reservations:
        return "completed without its reservation"
    if completed and releases:
        return "completed, reservation released"
    if not completed and reservations and not releases:
        return "cancelled, reservation kept"
    if not completed and releases and not reservations:
        return "released without a reservation"
    return None


# -- the verdict --------------------------------------------------------------------


def _net(facts: OrderFacts) -> Decimal:
    charged = sum((Decimal(a) for a in facts.charges.values()), Decimal(0))
    refunded = sum((Decimal(a) for a in facts.refunds.values()), Decimal(0))
    return charged - refunded


def verdict(facts: OrderFacts, now: float | None, timing: Timing) -> frozenset[AuditKind]:
    """The promises ``facts`` break as of ``now`` (``None``: only what no later event can
    mend is judged: double charges, duplicate notices, conflicting outcomes)."""
    kinds: set[AuditKind] = set()
    if double_charged(len(facts.charges)):
        kinds.add("double_charged")
    if len(facts.notices) > 1:
        kinds.add("duplicate_notices")
    results = {completed for completed, _ in facts.outcomes.values()}
    if len(facts.outcomes) > 1:
        kinds.add("conflicting_outcomes")
    if now is None:
        return frozenset(kinds)
    grace = timing.grace
    if facts.placed_at is None:
        return frozenset(kinds)  # seen without its start: not judged further (module doc)
    if not facts.outcomes and facts.placed_at + timing.deadline + grace <= now:
        kinds.add("overdue")
    if facts.outcomes and len(results) == 1:
        decided_at = min(at for _, at in facts.outcomes.values())
        if decided_at + grace <= now:
            (completed,) = results
            if facts.amount is not None:
                wanted = expected_net_charge(completed, Decimal(facts.amount))
                if _net(facts) != wanted:
                    kinds.add("wrong_charge")
            problem = reservation_problem(completed, len(facts.reserved), len(facts.released))
            if problem is not None:
                oversold = problem == "completed without its reservation"
                kinds.add("oversold" if oversold else "stock_leak")
            if not facts.notices:
                kinds.add("lost")
    elif len(facts.reserved) > 1 or len(facts.released) > 1:
        kinds.add("stock_leak")
    return frozenset(kinds)


def audited(facts: OrderFacts) -> bool:
    """Whether the order counts as audited: its ``OrderPlaced`` was seen (module doc)."""
    return facts.placed_at is not None


def settled(facts: OrderFacts, now: float | None, timing: Timing) -> bool:
    """Whether time alone can no longer change the verdict: only a new event can. An
    undecided order never is (it is pending, then overdue until its outcome comes)."""
    if facts.placed_at is None:
        return True  # not judged until its OrderPlaced comes (module doc)
    if now is None or not facts.outcomes:
        return False
    due = max(facts.first_at, min(at for _, at in facts.outcomes.values())) + timing.grace
    return due <= now


# -- one partition's summary -----------------------------------------------------------


def summarize(
    verdicts: Mapping[str, frozenset[AuditKind]],
    *,
    group: str,
    partition: int,
    orders: int,
    pending: int,
    checked_at: float | None,
) -> AuditSummary:
    """The ``AuditSummary`` of one partition: ``verdicts`` maps each violating order to its
    kinds (orders without a violation may be left out)."""
    counts: dict[str, int] = dict.fromkeys(KINDS, 0)
    named: list[AuditedOrder] = []
    for order_id in sorted(verdicts):
        kinds = verdicts[order_id]
        if not kinds:
            continue
        for kind in kinds:
            counts[kind] += 1
        if len(named) < MAX_NAMED:
            ordered = tuple(k for k in KINDS if k in kinds)
            named.append(AuditedOrder(order_id=order_id, kinds=ordered))
    fields: dict[str, object] = {
        "correlation_id": group,
        "group": group,
        "partition": partition,
        "orders": orders,
        "pending": pending,
        "checked_at": None if checked_at is None else datetime.fromtimestamp(checked_at, UTC),
        "violations": tuple(named),
        **counts,
    }
    return msgspec.convert(fields, AuditSummary, from_attributes=True)


def same_verdict(a: AuditSummary | None, b: AuditSummary) -> bool:
    """Whether two summaries say the same (times and ids aside): publish only changes."""
    if a is None:
        return False
    fields = ("orders", "pending", "violations", *KINDS)
    return all(getattr(a, f) == getattr(b, f) for f in fields)
