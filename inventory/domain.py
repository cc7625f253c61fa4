"""Inventory decisions, pure: reserve all lines or none, release, commit, one record per order.

This module is the specification; ``inventory.scripts`` implements the same steps as
Redis Lua scripts (atomic across workers), and ``inventory.memory`` runs these functions
on dictionaries (the fake store of the fast tests). Both are tested against this module.

**Stock.** Each product has ``Counters``. ``available`` units can be reserved,
``reserved`` units are held for orders not decided yet, ``sold`` units went to completed
orders. Only seeding changes ``stocked``; every other step moves units between the three
buckets, so ``stocked == available + reserved + sold`` always holds, and the running
totals say where every reserved unit went: ``units_reserved == units_committed +
units_released + reserved`` (``violations`` checks both, and that nothing is negative).

**Reservation** (``reserve``): an ``OrderPlaced`` is reserved whole or not at all. Its
lines are summed per product (``demand``); if any product has fewer ``available`` units
than wanted, nothing is taken and ``InventoryRejected`` names every short product with
what was requested and what was available (a product nobody stocked has 0 available).

**One record per order** (``OrderRecord``), a state machine driven by the three events
inventory consumes. ``evolve`` applies one event; arrival order and duplicates do not
change where it ends (Kafka delivers at least once, and ``orders.v1`` and
``orders.outcome.v1`` are separate topics, so an outcome can overtake its order)::

    (none) --OrderPlaced--> reserved | rejected
    (none) --OrderCancelled--> cancelled    tombstone: the cancellation came first
    (none) --OrderCompleted--> completed    tombstone: the completion came first
    reserved --OrderCancelled--> released   the reserved units go back to available
    reserved --OrderCompleted--> committed  the reserved units are sold
    cancelled --OrderPlaced--> released     reserved and released at once, or rejected
    completed --OrderPlaced--> committed    reserved and sold at once, or rejected
    rejected --either outcome--> rejected   the outcome is recorded, no stock moves

Every other event is a no-op: a second ``OrderPlaced`` (a redelivery, or a copy with
another event id) never reserves again; a release or commit happens at most once; the
first outcome wins (a cancelled order is never sold, a sold one never released). A
cancellation when nothing was reserved only leaves the tombstone.

**What is emitted** (``reactions``): handling an event re-emits everything that event
caused, whether it changed the record now or on an earlier delivery; a worker that
stopped after the store changed but before its events reached Kafka therefore emits
them when the event is redelivered. Event ids are derived from the causing event's id
(``contracts.derived_id``, as ``contracts.reaction`` does) and timestamps come from the
record, so every copy is byte-identical and consumers drop duplicates by ``event_id``.
``InventoryReserved``/``InventoryRejected`` react to the ``OrderPlaced``,
``InventoryReleased`` to the ``OrderCancelled``, whichever came first: every
``InventoryReserved`` of a cancelled order has its ``InventoryReleased``, and the
events emitted for an order do not depend on arrival order. A commit emits no order
event (the contracts have none); the new ``StockLevel`` of each product the order
holds (``touched``) is published after every step (``stock_level``).

**Stale events** (``stale``): the same rule as payment's. An event older than
``STALE_AFTER`` (10 min, payment's default ``Retention.settled``) whose order has no
record here is ignored before it reaches the store: nothing is reserved, released or
recorded, nothing is emitted. Payment ignores such an order too (it may have settled
and forgotten it), so reserving it would hold units for an order that payment never
answers; instead the saga cancels it as a timeout and both participants record the
cancellation (how every participant treats a late order, and why it always ends
CANCELLED with nothing reserved or charged: ``saga.domain``). An order that has a
record is never stale here: records are kept for the topics' retention
(``INVENTORY_ORDER_TTL``), so a redelivered or late copy still re-emits its events, and
an ``OrderPlaced`` that arrives after its cancellation's tombstone is reserved and
released at once as usual.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from contracts import (
    InventoryRejected,
    InventoryReleased,
    InventoryReserved,
    OrderCancelled,
    OrderCompleted,
    OrderPlaced,
    Shortage,
    StockLevel,
    StockLine,
    derived_id,
    reaction,
)

#: Where an order stands with inventory (see the module docstring).
State = Literal["reserved", "rejected", "released", "committed", "cancelled", "completed"]
#: Which outcome the saga decided for an order.
OutcomeKind = Literal["cancelled", "completed"]
#: The events inventory consumes.
Consumed = OrderPlaced | OrderCancelled | OrderCompleted
#: The events inventory emits for an order.
Emitted = InventoryReserved | InventoryRejected | InventoryReleased
#: Units per product, one entry per product, sorted by product id.
Lines = tuple[tuple[str, int], ...]

STATES: tuple[State, ...] = (
    "reserved",
    "rejected",
    "released",
    "committed",
    "cancelled",
    "completed",
)
#: The states in which the order holds (or held) units: their products' levels are published.
HOLDING: frozenset[State] = frozenset({"reserved", "released", "committed"})
#: The states before any ``OrderPlaced``: tombstones of an outcome that came first.
TOMBSTONES: frozenset[State] = frozenset({"cancelled", "completed"})
#: The largest quantity one ``StockLine`` or ``Shortage`` may carry (``contracts.Quantity``).
MAX_UNITS = 10_000
#: An event older than this, of an order without a record, is stale (module docstring).
STALE_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class Counters:
    """The stock of one product, and running totals that account for every unit."""

    #: Units put on the shelf by seeding: ``available + reserved + sold``.
    stocked: int = 0
    #: Units that can be reserved now.
    available: int = 0
    #: Units held for orders that are not decided yet.
    reserved: int = 0
    #: Units of completed orders.
    sold: int = 0
    #: Every unit ever reserved ...
    units_reserved: int = 0
    #: ... given back by a cancellation ...
    units_released: int = 0
    #: ... or sold by a completion.
    units_committed: int = 0


@dataclass(frozen=True)
class Cause:
    """An event that changed an order's record, and when: enough to rebuild its reactions."""

    event_id: str
    correlation_id: str
    at: datetime


@dataclass(frozen=True)
class OrderRecord:
    """What inventory did for one order: its state, and the events that decided it."""

    order_id: str
    state: State
    #: The units held for the order, per product (``reserved``, ``released``, ``committed``).
    lines: Lines = ()
    #: Why it was ``rejected``.
    shortages: tuple[Shortage, ...] = ()
    #: The ``OrderPlaced`` that decided the reservation, and when it did.
    placed: Cause | None = None
    #: The first outcome (``OrderCancelled`` or ``OrderCompleted``), and when it arrived.
    outcome: Cause | None = None
    outcome_kind: OutcomeKind | None = None


@dataclass(frozen=True)
class Level:
    """A product's stock as published on ``inventory.stock.v1``, at version ``at``.

    ``at`` increases strictly with every change of the product (the store's clock), so
    the read model keeps the level with the latest ``at`` whatever order levels from
    several workers arrive in.
    """

    product_id: str
    name: str
    price: Decimal
    available: int
    reserved: int
    sold: int
    at: datetime


# -- the reservation decision ----------------------------------------------------------


def demand(order: OrderPlaced) -> Lines:
    """The units ``order`` wants per product: its lines summed per product, sorted by id."""
    wanted: dict[str, int] = {}
    for line in order.items:
        wanted[line.product_id] = wanted.get(line.product_id, 0) + line.quantity
    return tuple(sorted(wanted.items()))


def shortage(product_id: str, requested: int, available: int) -> Shortage:
    """A short product; ``requested`` is capped at ``MAX_UNITS`` (the contract's maximum)."""
    return Shortage(
        product_id=product_id, requested=min(requested, MAX_UNITS), available=max(available, 0)
    )


def shortages(wanted: Lines, available: Mapping[str, int]) -> tuple[Shortage, ...]:
    """Every product of ``wanted`` with fewer units ``available`` (absent: 0) than wanted."""
    return tuple(
        shortage(product_id, units, available.get(product_id, 0))
        for product_id, units in wanted
        if available.get(product_id, 0) < units
    )


def stock_lines(lines: Lines) -> tuple[StockLine, ...]:
    """``lines`` as contract ``StockLine``s: one per product, split above ``MAX_UNITS``."""
    out: list[StockLine] = []
    for product_id, units in lines:
        while units > 0:
            out.append(StockLine(product_id=product_id, quantity=min(units, MAX_UNITS)))
            units -= MAX_UNITS
    return tuple(out)


def reserve(
    order: OrderPlaced, available: Mapping[str, int], *, at: datetime | None = None
) -> InventoryReserved | InventoryRejected:
    """Decide ``order`` against a snapshot of ``available`` units per product.

    Every product has enough units: ``InventoryReserved`` with the units per product.
    Otherwise ``InventoryRejected`` with a ``Shortage`` for each short product, and
    nothing is reserved. The event is ``contracts.reaction(order, ...)``, stamped ``at``
    (now when omitted): deciding the same order again gives the same event.
    """
    when = at or datetime.now(UTC)
    wanted = demand(order)
    short = shortages(wanted, available)
    if short:
        return reaction(order, InventoryRejected, shortages=short, occurred_at=when)
    return reaction(order, InventoryReserved, items=stock_lines(wanted), occurred_at=when)


# -- moving units ----------------------------------------------------------------------


def _moved(stock: Mapping[str, Counters], lines: Lines, **deltas: int) -> dict[str, Counters]:
    out = dict(stock)
    for product_id, units in lines:
        counters = out.get(product_id, Counters())
        out[product_id] = dataclasses.replace(
            counters,
            **{name: getattr(counters, name) + sign * units for name, sign in deltas.items()},
        )
    return out


def take(stock: Mapping[str, Counters], lines: Lines) -> dict[str, Counters]:
    """Reserve ``lines``: available -> reserved (the caller checked there are enough)."""
    return _moved(stock, lines, available=-1, reserved=1, units_reserved=1)


def put_back(stock: Mapping[str, Counters], lines: Lines) -> dict[str, Counters]:
    """Release ``lines``: reserved -> available."""
    return _moved(stock, lines, available=1, reserved=-1, units_released=1)


def sell(stock: Mapping[str, Counters], lines: Lines) -> dict[str, Counters]:
    """Commit ``lines``: reserved -> sold."""
    return _moved(stock, lines, reserved=-1, sold=1, units_committed=1)


def stocked(level: int) -> Counters:
    """A newly seeded product with ``level`` units available."""
    return Counters(stocked=level, available=level)


def restocked(counters: Counters, level: int) -> Counters:
    """``counters`` with ``level`` units available again; reserved and sold units stay.

    ``stocked`` moves by the same amount as ``available``, so the books still balance.
    """
    return dataclasses.replace(
        counters,
        stocked=counters.stocked + level - counters.available,
        available=level,
    )


# -- the per-order state machine ---------------------------------------------------------

InventoryStep = tuple[OrderRecord | None, dict[str, Counters]]


def _cause(event: Consumed, at: datetime) -> Cause:
    return Cause(str(event.event_id), event.correlation_id, at)


def on_placed(
    record: OrderRecord | None, stock: Mapping[str, Counters], order: OrderPlaced, *, at: datetime
) -> InventoryStep:
    """Apply an ``OrderPlaced``; mirrored by the ``RESERVE`` script.

    Only an order without a decision is decided: with no record, it is ``reserved``
    or ``rejected``. After a cancellation tombstone it is reserved and released at
    once (``released``, stock unchanged), after a completion tombstone reserved and
    sold at once (``committed``), in both cases only if the units are there, else
    ``rejected``. Any other record is returned unchanged.
    """
    if record is not None and record.state not in TOMBSTONES:
        return record, dict(stock)
    tombstone = None if record is None else record.state
    base = record or OrderRecord(order_id=order.order_id, state="reserved")
    placed = _cause(order, at)
    wanted = demand(order)
    short = shortages(wanted, {p: c.available for p, c in stock.items()})
    if short:
        rejected = dataclasses.replace(base, state="rejected", shortages=short, placed=placed)
        return rejected, dict(stock)
    after = take(stock, wanted)
    state: State = "reserved"
    if tombstone == "cancelled":
        after, state = put_back(after, wanted), "released"
    elif tombstone == "completed":
        after, state = sell(after, wanted), "committed"
    return dataclasses.replace(base, state=state, lines=wanted, placed=placed), after


def _on_outcome(
    record: OrderRecord | None,
    stock: Mapping[str, Counters],
    event: OrderCancelled | OrderCompleted,
    *,
    at: datetime,
    kind: OutcomeKind,
    settled: State,
) -> InventoryStep:
    outcome = _cause(event, at)
    if record is None:
        return OrderRecord(
            order_id=event.order_id, state=kind, outcome=outcome, outcome_kind=kind
        ), dict(stock)
    if record.state == "reserved":
        move = put_back if kind == "cancelled" else sell
        settled_record = dataclasses.replace(
            record, state=settled, outcome=outcome, outcome_kind=kind
        )
        return settled_record, move(stock, record.lines)
    if record.state == "rejected" and record.outcome is None:
        return dataclasses.replace(record, outcome=outcome, outcome_kind=kind), dict(stock)
    return record, dict(stock)


def on_cancelled(
    record: OrderRecord | None,
    stock: Mapping[str, Counters],
    cancelled: OrderCancelled,
    *,
    at: datetime,
) -> InventoryStep:
    """Apply an ``OrderCancelled``; mirrored by the ``RELEASE`` script.

    No record: a ``cancelled`` tombstone. ``reserved``: the units go back to available
    (``released``). ``rejected`` without an outcome: the outcome is recorded. Anything
    else (already released, committed, or another outcome first) is unchanged.
    """
    return _on_outcome(record, stock, cancelled, at=at, kind="cancelled", settled="released")


def on_completed(
    record: OrderRecord | None,
    stock: Mapping[str, Counters],
    completed: OrderCompleted,
    *,
    at: datetime,
) -> InventoryStep:
    """Apply an ``OrderCompleted``; mirrored by the ``COMMIT`` script.

    No record: a ``completed`` tombstone. ``reserved``: the units are sold
    (``committed``). ``rejected`` without an outcome: the outcome is recorded. Anything
    else is unchanged.
    """
    return _on_outcome(record, stock, completed, at=at, kind="completed", settled="committed")


def evolve(
    record: OrderRecord | None, stock: Mapping[str, Counters], event: Consumed, *, at: datetime
) -> InventoryStep:
    """Apply one consumed event to an order's record and the stock: ``(record, stock)``.

    ``at`` is when the event is applied; it stamps the events the step causes.
    ``record`` is ``None`` for an order never seen; the result is ``None`` only then
    (and only for events of no consumed type, which cannot happen with ``Consumed``).
    """
    if isinstance(event, OrderPlaced):
        return on_placed(record, stock, event, at=at)
    if isinstance(event, OrderCancelled):
        return on_cancelled(record, stock, event, at=at)
    return on_completed(record, stock, event, at=at)


def stale(
    record: OrderRecord | None,
    event: Consumed,
    *,
    now: datetime,
    horizon: timedelta = STALE_AFTER,
) -> bool:
    """Whether ``event`` is ignored: ``too_old``, and its order has no ``record`` (see
    the module docstring). The worker checks it before ``evolve``."""
    return record is None and too_old(event, now=now, horizon=horizon)


def too_old(event: Consumed, *, now: datetime, horizon: timedelta = STALE_AFTER) -> bool:
    """Whether ``event`` occurred more than ``horizon`` before ``now``: only then can it
    be ``stale``, so only then does the worker need the order's record to tell."""
    return event.occurred_at < now - horizon


# -- what is emitted ---------------------------------------------------------------------


def _envelope(wire_type: str, order_id: str, cause: Cause, at: datetime) -> dict[str, Any]:
    # The envelope ``contracts.reaction`` builds, from a recorded cause.
    return {
        "event_id": derived_id(cause.event_id, wire_type),
        "occurred_at": at,
        "order_id": order_id,
        "correlation_id": cause.correlation_id,
        "causation_id": cause.event_id,
    }


def decision(record: OrderRecord) -> InventoryReserved | InventoryRejected | None:
    """The reservation decision recorded for the order (``None`` before any), stamped
    when it was made: the same event ``reserve`` returned then."""
    placed = record.placed
    if placed is None:
        return None
    if record.state == "rejected":
        envelope = _envelope(InventoryRejected.wire_type(), record.order_id, placed, placed.at)
        return InventoryRejected(**envelope, shortages=record.shortages)
    envelope = _envelope(InventoryReserved.wire_type(), record.order_id, placed, placed.at)
    return InventoryReserved(**envelope, items=stock_lines(record.lines))


def release(record: OrderRecord) -> InventoryReleased | None:
    """The release of a ``released`` order, a reaction to its ``OrderCancelled``.

    Stamped when the release happened: when the later of the order and its
    cancellation arrived. ``None`` in any other state.
    """
    if record.state != "released" or record.placed is None or record.outcome is None:
        return None
    at = max(record.placed.at, record.outcome.at)
    envelope = _envelope(InventoryReleased.wire_type(), record.order_id, record.outcome, at)
    return InventoryReleased(**envelope, items=stock_lines(record.lines))


def reactions(record: OrderRecord | None, event: Consumed) -> tuple[Emitted, ...]:
    """The events to emit after ``event`` was applied and left ``record``.

    ``OrderPlaced``: the decision, and the release too if the order is ``released``
    (a cancellation that came first). ``OrderCancelled``: the release, if any.
    ``OrderCompleted``: nothing. Applying a duplicate emits the same events again.
    """
    if record is None:
        return ()
    out: list[Emitted | None] = []
    if isinstance(event, OrderPlaced):
        out += [decision(record), release(record)]
    elif isinstance(event, OrderCancelled):
        out.append(release(record))
    return tuple(e for e in out if e is not None)


def touched(record: OrderRecord | None) -> tuple[str, ...]:
    """The products whose ``StockLevel`` is published after a step of this order."""
    if record is None or record.state not in HOLDING:
        return ()
    return tuple(product_id for product_id, _ in record.lines)


def stock_level(
    level: Level, *, correlation_id: str, causation_id: str | None = None
) -> StockLevel:
    """The ``StockLevel`` event of ``level``: occurred at its version ``at``.

    Its event id is derived from the product and the version, so publishing the
    same version twice gives the same event id.
    """
    return StockLevel(
        event_id=derived_id(f"{level.product_id}@{level.at.isoformat()}", StockLevel.wire_type()),
        occurred_at=level.at,
        correlation_id=correlation_id,
        causation_id=causation_id,
        product_id=level.product_id,
        name=level.name,
        price=level.price,
        available=level.available,
        reserved=level.reserved,
        sold=level.sold,
    )


# -- invariants ----------------------------------------------------------------------------


def violations(stock: Mapping[str, Counters]) -> list[str]:
    """Every broken stock invariant, one sentence each; empty when the books balance.

    Per product: no counter is negative; ``stocked == available + reserved + sold``;
    ``units_reserved == units_committed + units_released + reserved``;
    ``sold == units_committed``.
    """
    found: list[str] = []
    for product_id, c in sorted(stock.items()):
        for name, value in dataclasses.asdict(c).items():
            if value < 0:
                found.append(f"{product_id}: {name} is negative ({value})")
        if c.available + c.reserved + c.sold != c.stocked:
            found.append(
                f"{product_id}: available {c.available} + reserved {c.reserved} + sold "
                f"{c.sold} != stocked {c.stocked}"
            )
        if c.units_committed + c.units_released + c.reserved != c.units_reserved:
            found.append(
                f"{product_id}: committed {c.units_committed} + released {c.units_released} "
                f"+ still reserved {c.reserved} != ever reserved {c.units_reserved}"
            )
        if c.sold != c.units_committed:
            found.append(f"{product_id}: sold {c.sold} != committed {c.units_committed}")
    return found


def fold(
    events: Sequence[Consumed], stock: Mapping[str, Counters], *, at: datetime
) -> tuple[OrderRecord | None, dict[str, Counters], tuple[Emitted, ...]]:
    """Apply ``events`` of one order in turn from no record; the final record and stock,
    and every event emitted on the way (duplicates included)."""
    record: OrderRecord | None = None
    current = dict(stock)
    emitted: list[Emitted] = []
    for event in events:
        record, current = evolve(record, current, event, at=at)
        emitted += reactions(record, event)
    return record, current, tuple(emitted)
