"""The inventory rules and the per-order state machine, decided without Redis or Kafka."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import (
    InventoryRejected,
    InventoryReleased,
    InventoryReserved,
    OrderCancelled,
    OrderCompleted,
    OrderLine,
    OrderPlaced,
    Shortage,
    StockLevel,
    StockLine,
    decode,
    derived_id,
    encode,
    reaction,
)
from inventory.domain import (
    MAX_UNITS,
    STALE_AFTER,
    Consumed,
    Counters,
    Emitted,
    Level,
    OrderRecord,
    decision,
    demand,
    evolve,
    fold,
    put_back,
    reactions,
    release,
    reserve,
    restocked,
    sell,
    shortages,
    stale,
    stock_level,
    stock_lines,
    stocked,
    take,
    too_old,
    touched,
    violations,
)

AT = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
LATER = AT + timedelta(seconds=1)


def order(*lines: tuple[str, int], order_id: str = "order-1") -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id,
        correlation_id=order_id,
        user_id="user-1",
        currency="USD",
        amount=Decimal("10.00"),
        items=tuple(
            OrderLine(product_id=p, quantity=n, unit_price=Decimal("1.00")) for p, n in lines
        ),
    )


PLACED = order(("p-a", 2), ("p-b", 1))
CANCELLED = reaction(PLACED, OrderCancelled, user_id="user-1", reason="payment_declined")
COMPLETED = reaction(
    PLACED, OrderCompleted, user_id="user-1", amount=Decimal("10.00"), currency="USD"
)


def stock(**available: int) -> dict[str, Counters]:
    return {p.replace("_", "-"): stocked(n) for p, n in available.items()}


PLENTY = stock(p_a=5, p_b=5)


# -- demand and the reservation decision ------------------------------------------------


def test_demand_sums_the_lines_of_each_product_sorted_by_product() -> None:
    placed = order(("p-b", 1), ("p-a", 2), ("p-b", 3))
    assert demand(placed) == (("p-a", 2), ("p-b", 4))


def test_an_order_with_enough_stock_is_reserved_as_a_reaction_to_it() -> None:
    event = reserve(PLACED, {"p-a": 2, "p-b": 1}, at=AT)
    assert event == reaction(
        PLACED,
        InventoryReserved,
        occurred_at=AT,
        items=(StockLine(product_id="p-a", quantity=2), StockLine(product_id="p-b", quantity=1)),
    )
    assert event.event_id == derived_id(PLACED, "inventory.reserved.v1")


def test_one_short_line_rejects_the_whole_order_naming_only_the_short_products() -> None:
    event = reserve(PLACED, {"p-a": 1, "p-b": 9}, at=AT)
    assert isinstance(event, InventoryRejected)
    assert event.shortages == (Shortage(product_id="p-a", requested=2, available=1),)
    assert event.causation_id == str(PLACED.event_id)


def test_every_short_product_is_named_and_an_unknown_product_has_nothing() -> None:
    event = reserve(order(("p-a", 3), ("p-zzz", 1)), {"p-a": 2}, at=AT)
    assert isinstance(event, InventoryRejected)
    assert event.shortages == (
        Shortage(product_id="p-a", requested=3, available=2),
        Shortage(product_id="p-zzz", requested=1, available=0),
    )


def test_lines_of_one_product_are_checked_together() -> None:
    # each line alone fits, both together do not
    event = reserve(order(("p-a", 2), ("p-a", 2)), {"p-a": 3}, at=AT)
    assert isinstance(event, InventoryRejected)
    assert event.shortages == (Shortage(product_id="p-a", requested=4, available=3),)


@pytest.mark.parametrize(("available", "reserved"), [(2, True), (1, False), (0, False)])
def test_the_last_units_can_be_reserved(available: int, reserved: bool) -> None:
    event = reserve(order(("p-a", 2)), {"p-a": available})
    assert isinstance(event, InventoryReserved) is reserved


def test_deciding_the_same_order_twice_gives_the_same_event() -> None:
    assert reserve(PLACED, {"p-a": 9, "p-b": 9}, at=AT) == reserve(
        PLACED, {"p-a": 9, "p-b": 9}, at=AT
    )
    assert reserve(PLACED, {}, at=AT) == reserve(PLACED, {}, at=AT)


def test_quantities_above_the_contract_maximum_are_split_or_capped() -> None:
    lines = (("p-a", MAX_UNITS * 2 + 5),)
    assert [x.quantity for x in stock_lines(lines)] == [MAX_UNITS, MAX_UNITS, 5]
    [short] = shortages(lines, {"p-a": 7})
    assert (short.requested, short.available) == (MAX_UNITS, 7)


def test_decisions_survive_the_wire() -> None:
    for event in (reserve(PLACED, {"p-a": 9, "p-b": 9}, at=AT), reserve(PLACED, {}, at=AT)):
        assert decode(encode(event)) == event


# -- moving units ------------------------------------------------------------------------


def test_take_put_back_and_sell_move_units_between_buckets() -> None:
    lines = (("p-a", 2),)
    held = take(stock(p_a=5), lines)
    assert held["p-a"] == Counters(stocked=5, available=3, reserved=2, units_reserved=2)
    assert put_back(held, lines)["p-a"] == Counters(
        stocked=5, available=5, units_reserved=2, units_released=2
    )
    assert sell(held, lines)["p-a"] == Counters(
        stocked=5, available=3, sold=2, units_reserved=2, units_committed=2
    )


def test_a_restock_sets_available_and_keeps_the_books_balanced() -> None:
    held = take(stock(p_a=5), (("p-a", 2),))
    sold = sell(held, (("p-a", 1),))
    refilled = restocked(sold["p-a"], 10)
    assert (refilled.available, refilled.reserved, refilled.sold) == (10, 1, 1)
    assert violations({"p-a": refilled}) == []
    assert violations({"p-a": restocked(refilled, 0)}) == []


def test_violations_name_every_broken_invariant() -> None:
    broken = {
        "p-a": Counters(stocked=5, available=-1, reserved=1),
        "p-b": Counters(stocked=3, available=3, units_reserved=2, units_released=1),
        "p-c": Counters(stocked=1, sold=1),
    }
    found = violations(broken)
    assert any("p-a: available is negative" in v for v in found)
    assert any(v.startswith("p-a: available -1 + reserved 1") for v in found)
    assert any(v.startswith("p-b: committed 0 + released 1") for v in found)
    assert any(v.startswith("p-c: sold 1 != committed 0") for v in found)
    assert violations(PLENTY) == []


# -- the state machine ---------------------------------------------------------------------


def test_an_order_is_reserved_and_its_units_held() -> None:
    record, after = evolve(None, PLENTY, PLACED, at=AT)
    assert record is not None
    assert (record.state, record.lines) == ("reserved", (("p-a", 2), ("p-b", 1)))
    assert after["p-a"].available == 3
    assert after["p-b"].reserved == 1
    assert reactions(record, PLACED) == (reserve(PLACED, {"p-a": 5, "p-b": 5}, at=AT),)
    assert touched(record) == ("p-a", "p-b")


def test_a_rejected_order_holds_nothing_and_touches_no_product() -> None:
    record, after = evolve(None, stock(p_a=1, p_b=5), PLACED, at=AT)
    assert record is not None
    assert record.state == "rejected"
    assert after == stock(p_a=1, p_b=5)
    assert reactions(record, PLACED) == (reserve(PLACED, {"p-a": 1, "p-b": 5}, at=AT),)
    assert touched(record) == ()


def test_a_cancellation_releases_what_was_reserved() -> None:
    record, after, emitted = fold([PLACED, CANCELLED], PLENTY, at=AT)
    assert record is not None
    assert record.state == "released"
    assert after["p-a"] == Counters(stocked=5, available=5, units_reserved=2, units_released=2)
    released = emitted[-1]
    assert released == reaction(
        CANCELLED,
        InventoryReleased,
        occurred_at=AT,
        items=(StockLine(product_id="p-a", quantity=2), StockLine(product_id="p-b", quantity=1)),
    )


def test_a_completion_sells_what_was_reserved_and_emits_nothing() -> None:
    record, after, emitted = fold([PLACED, COMPLETED], PLENTY, at=AT)
    assert record is not None
    assert record.state == "committed"
    assert after["p-a"] == Counters(
        stocked=5, available=3, sold=2, units_reserved=2, units_committed=2
    )
    assert [type(e) for e in emitted] == [InventoryReserved]
    assert reactions(record, COMPLETED) == ()
    assert touched(record) == ("p-a", "p-b")


def test_a_cancellation_before_the_order_leaves_a_tombstone_only() -> None:
    record, after = evolve(None, PLENTY, CANCELLED, at=AT)
    assert record == OrderRecord(
        order_id="order-1",
        state="cancelled",
        outcome=record.outcome if record else None,
        outcome_kind="cancelled",
    )
    assert after == PLENTY
    assert reactions(record, CANCELLED) == ()


def test_an_order_after_its_cancellation_is_reserved_and_released_at_once() -> None:
    record, after, emitted = fold([CANCELLED, PLACED], PLENTY, at=AT)
    assert record is not None
    assert record.state == "released"
    assert {p: (c.available, c.reserved) for p, c in after.items()} == {
        "p-a": (5, 0),
        "p-b": (5, 0),
    }
    # the very events of the usual order: reserved (caused by the order), released
    # (caused by the cancellation)
    _, _, usual = fold([PLACED, CANCELLED], PLENTY, at=AT)
    assert emitted == usual


def test_an_order_after_its_cancellation_without_stock_is_rejected() -> None:
    record, after, emitted = fold([CANCELLED, PLACED], stock(p_a=1), at=AT)
    assert record is not None
    assert (record.state, record.outcome_kind) == ("rejected", "cancelled")
    assert after == stock(p_a=1)
    assert [type(e) for e in emitted] == [InventoryRejected]


def test_an_order_after_its_completion_is_reserved_and_sold_at_once() -> None:
    record, after, emitted = fold([COMPLETED, PLACED], PLENTY, at=AT)
    assert record is not None
    assert record.state == "committed"
    assert after["p-a"].sold == 2
    assert [type(e) for e in emitted] == [InventoryReserved]


def test_an_outcome_of_a_rejected_order_is_recorded_and_moves_nothing() -> None:
    rejected, before = evolve(None, stock(p_a=1, p_b=5), PLACED, at=AT)
    for outcome, kind in ((CANCELLED, "cancelled"), (COMPLETED, "completed")):
        record, after = evolve(rejected, before, outcome, at=LATER)
        assert record is not None
        assert (record.state, record.outcome_kind) == ("rejected", kind)
        assert after == before
        assert reactions(record, outcome) == ()


def test_a_redelivered_order_never_reserves_twice_and_re_emits_its_decision() -> None:
    record, after = evolve(None, PLENTY, PLACED, at=AT)
    again, after_again = evolve(record, after, PLACED, at=LATER)
    assert again == record
    assert after_again == after
    assert reactions(again, PLACED) == reactions(record, PLACED)
    assert [encode(e) for e in reactions(again, PLACED)] == [
        encode(e) for e in reactions(record, PLACED)
    ]


def test_a_republished_order_with_another_event_id_re_emits_the_first_decision() -> None:
    record, after = evolve(None, PLENTY, PLACED, at=AT)
    copy = order(("p-a", 2), ("p-b", 1))
    assert copy.event_id != PLACED.event_id
    again, after_again = evolve(record, after, copy, at=LATER)
    assert (again, after_again) == (record, after)
    [event] = reactions(again, copy)
    assert event.causation_id == str(PLACED.event_id)


def test_release_and_commit_happen_at_most_once() -> None:
    other_cancel = reaction(COMPLETED, OrderCancelled, user_id="user-1", reason="timeout")
    _, after, emitted = fold([PLACED, CANCELLED, CANCELLED, other_cancel], PLENTY, at=AT)
    assert after["p-a"].units_released == 2
    assert {e.event_id for e in emitted if isinstance(e, InventoryReleased)} == {
        derived_id(CANCELLED, "inventory.released.v1")
    }
    _, after, _ = fold([PLACED, COMPLETED, COMPLETED], PLENTY, at=AT)
    assert after["p-a"].sold == 2


@pytest.mark.parametrize(
    ("first", "then", "state"),
    [(CANCELLED, COMPLETED, "released"), (COMPLETED, CANCELLED, "committed")],
)
def test_the_first_outcome_wins(
    first: OrderCancelled | OrderCompleted, then: OrderCancelled | OrderCompleted, state: str
) -> None:
    for events in ([PLACED, first, then], [first, PLACED, then], [first, then, PLACED]):
        record, after, _ = fold(events, PLENTY, at=AT)
        assert record is not None
        assert record.state == state, events
        assert violations(after) == []


def test_a_release_without_a_record_is_not_emitted() -> None:
    assert reactions(None, CANCELLED) == ()
    tombstone, _ = evolve(None, PLENTY, CANCELLED, at=AT)
    assert tombstone is not None
    assert release(tombstone) is None
    assert decision(tombstone) is None


def test_the_release_after_a_tombstone_is_stamped_when_the_order_arrived() -> None:
    tombstone, before = evolve(None, PLENTY, CANCELLED, at=AT)
    record, _ = evolve(tombstone, before, PLACED, at=LATER)
    assert record is not None
    reserved, released = reactions(record, PLACED)
    assert reserved.occurred_at == released.occurred_at == LATER
    assert reactions(record, CANCELLED) == (released,)


# -- order and duplication do not matter -------------------------------------------------

OUTCOMES = {"cancelled": CANCELLED, "completed": COMPLETED}


def _final_state(events: list[OrderPlaced | OrderCancelled | OrderCompleted], initial: dict):
    record, after, emitted = fold(events, initial, at=AT)
    return record, after, {e.event_id: e for e in emitted}


@pytest.mark.parametrize("outcome", sorted(OUTCOMES))
@pytest.mark.parametrize("units", [0, 1, 2, 5])
def test_every_arrival_order_ends_the_same(outcome: str, units: int) -> None:
    initial = stock(p_a=units, p_b=5)
    first, *others = [
        _final_state(list(p), initial) for p in itertools.permutations([PLACED, OUTCOMES[outcome]])
    ]
    assert others == [first]


@settings(max_examples=300)
@given(
    outcome=st.sampled_from(sorted(OUTCOMES)),
    units=st.integers(min_value=0, max_value=4),
    copies=st.lists(st.integers(min_value=1, max_value=3), min_size=2, max_size=2),
    order_seed=st.randoms(use_true_random=False),
)
def test_permutations_and_duplications_give_the_same_state_stock_and_events(
    outcome: str, units: int, copies: list[int], order_seed
) -> None:
    """Any arrival order, with any number of redeliveries of each event, ends in the
    same record and stock and emits the same events (by id and content)."""
    initial = stock(p_a=units, p_b=5)
    events = [PLACED] * copies[0] + [OUTCOMES[outcome]] * copies[1]
    order_seed.shuffle(events)
    assert _final_state(events, initial) == _final_state([PLACED, OUTCOMES[outcome]], initial)
    _, after, _ = fold(events, initial, at=AT)
    assert violations(after) == []
    assert all(c.available >= 0 for c in after.values())


def _orders(n: int) -> list[tuple[OrderPlaced, OrderCancelled, OrderCompleted]]:
    out = []
    for i in range(n):
        placed = order(("p-a", 1 + i % 3), ("p-b", 1), order_id=f"order-{i}")
        out.append(
            (
                placed,
                reaction(placed, OrderCancelled, user_id="user-1", reason="timeout"),
                reaction(
                    placed, OrderCompleted, user_id="user-1", amount=Decimal(1), currency="USD"
                ),
            )
        )
    return out


ORDERS = _orders(6)


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=5), st.integers(min_value=0, max_value=2)),
        max_size=40,
    )
)
def test_any_interleaving_of_many_orders_keeps_the_books_balanced(
    steps: list[tuple[int, int]],
) -> None:
    current = stock(p_a=4, p_b=3)
    records: dict[str, OrderRecord | None] = {}
    for index, kind in steps:
        event = ORDERS[index][kind]
        record, current = evolve(records.get(event.order_id), current, event, at=AT)
        records[event.order_id] = record
        assert violations(current) == []
    held = sum(dict(r.lines).get("p-a", 0) for r in records.values() if r and r.state == "reserved")
    assert current["p-a"].reserved == held


# -- stale events ---------------------------------------------------------------------------

#: When the saga cancels (and inventory applies) the late orders below.
NOW = AT + timedelta(hours=1)


def late(delay: timedelta) -> OrderPlaced:
    """``PLACED``, reaching inventory ``delay`` after it occurred (at ``NOW``)."""
    return _at(NOW - delay)


def _at(when: datetime) -> OrderPlaced:
    return msgspec.structs.replace(PLACED, occurred_at=when)


def timed_out(placed: OrderPlaced) -> OrderCancelled:
    """The saga's cancellation of a late order: stamped when it decided, after ``NOW``."""
    return reaction(
        placed, OrderCancelled, user_id="user-1", reason="timeout", occurred_at=NOW + ms(30_000)
    )


def ms(n: int) -> timedelta:
    return timedelta(milliseconds=n)


def worker_fold(
    events: list[Consumed], initial: dict[str, Counters], *, now: datetime
) -> tuple[OrderRecord | None, dict[str, Counters], list[Emitted]]:
    """What the worker does: drop stale events (``stale``), apply the rest (``evolve``)."""
    record: OrderRecord | None = None
    current = dict(initial)
    emitted: list[Emitted] = []
    for event in events:
        if stale(record, event, now=now):
            continue
        record, current = evolve(record, current, event, at=now)
        emitted += reactions(record, event)
    return record, current, emitted


@pytest.mark.parametrize(
    ("delay", "expected"),
    [
        (timedelta(seconds=60), False),
        (timedelta(minutes=5), False),
        (STALE_AFTER, False),
        (STALE_AFTER + ms(1), True),
        (timedelta(seconds=700), True),
        (timedelta(days=2), True),
    ],
)
def test_an_event_older_than_the_horizon_without_a_record_is_stale(
    delay: timedelta, expected: bool
) -> None:
    event = late(delay)
    assert too_old(event, now=NOW) is expected
    assert stale(None, event, now=NOW) is expected
    assert stale(None, event, now=NOW, horizon=delay + ms(1)) is False


def test_an_event_of_an_order_with_a_record_is_never_stale() -> None:
    old = late(timedelta(days=2))
    tombstone, _ = evolve(None, PLENTY, timed_out(old), at=NOW)
    assert tombstone is not None
    assert stale(tombstone, old, now=NOW) is False
    reserved_, _ = evolve(None, PLENTY, PLACED, at=AT)
    assert reserved_ is not None
    assert stale(reserved_, _at(AT), now=AT + timedelta(days=1)) is False


@pytest.mark.parametrize("delay", [timedelta(seconds=60), timedelta(minutes=5)])
def test_an_order_delayed_within_the_horizon_is_reserved(delay: timedelta) -> None:
    record, after, emitted = worker_fold([late(delay)], PLENTY, now=NOW)
    assert record is not None and record.state == "reserved"
    assert [type(e) for e in emitted] == [InventoryReserved]
    assert after["p-a"].reserved == 2


def test_a_700_s_late_order_reserves_nothing_and_its_cancellation_leaves_a_tombstone() -> None:
    old = late(timedelta(seconds=700))
    record, after, emitted = worker_fold([old], PLENTY, now=NOW)
    assert (record, emitted) == (None, [])
    assert after == PLENTY
    record, after, emitted = worker_fold([old, timed_out(old)], PLENTY, now=NOW)
    assert record is not None and record.state == "cancelled"
    assert (after, emitted) == (PLENTY, [])


@settings(max_examples=200)
@given(
    delay=st.integers(min_value=0, max_value=2 * 3600 * 1000),
    copies=st.lists(st.integers(min_value=1, max_value=3), min_size=2, max_size=2),
    order_seed=st.randoms(use_true_random=False),
)
def test_a_late_order_then_cancelled_never_leaks_stock(
    delay: int, copies: list[int], order_seed
) -> None:
    """Any lateness, arrival order and redelivery: once the saga's cancellation is in,
    nothing stays reserved and every unit ever reserved was released."""
    old = late(ms(delay))
    events: list[Consumed] = [old] * copies[0] + [timed_out(old)] * copies[1]
    order_seed.shuffle(events)
    record, after, emitted = worker_fold(events, PLENTY, now=NOW)
    assert violations(after) == []
    for product in ("p-a", "p-b"):
        c = after[product]
        assert c.reserved == 0
        assert c.units_reserved == c.units_released
        assert c.available == PLENTY[product].available
    assert record is not None and record.outcome_kind == "cancelled"
    # every reservation announced is released (the saga and read model see both)
    kinds = [type(e) for e in {e.event_id: e for e in emitted}.values()]
    assert kinds.count(InventoryReserved) == kinds.count(InventoryReleased)


# -- stock levels ---------------------------------------------------------------------------


def test_a_stock_level_carries_the_version_and_a_version_derived_id() -> None:
    level = Level("prod-001", "Beans", Decimal("49.995"), 7, 2, 1, AT)
    event = stock_level(level, correlation_id="order-1", causation_id="cause")
    assert event == StockLevel(
        event_id=event.event_id,
        occurred_at=AT,
        correlation_id="order-1",
        causation_id="cause",
        product_id="prod-001",
        name="Beans",
        price=Decimal("49.995"),
        available=7,
        reserved=2,
        sold=1,
    )
    assert stock_level(level, correlation_id="seed").event_id == event.event_id
    newer = dataclasses.replace(level, at=LATER)
    assert stock_level(newer, correlation_id="order-1").event_id != event.event_id
    assert decode(encode(event)) == event
