"""The in-memory due index that spares ticks a scan of the whole table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts import OrderCancelled
from saga.agenda import Agenda
from saga.domain import Decided, Pending, Timing

T0 = datetime(2026, 1, 2, tzinfo=UTC)
TIMING = Timing(deadline=timedelta(seconds=30), retention=timedelta(minutes=10))


def pending(order_id: str, partition: int, deadline: timedelta | None) -> Pending:
    return Pending(
        order_id=order_id,
        partition=partition,
        since=T0,
        deadline=None if deadline is None else T0 + deadline,
    )


def decided(order_id: str, partition: int, cause: str) -> Decided:
    outcome = OrderCancelled(
        order_id=order_id,
        correlation_id=order_id,
        causation_id=cause,
        user_id="u",
        reason="timeout",
    )
    return Decided(partition=partition, forget_at=T0 + timedelta(minutes=1), outcome=outcome)


def test_only_the_states_of_a_built_partition_are_indexed() -> None:
    agenda = Agenda(TIMING)
    states = [
        (b"a", pending("a", 1, timedelta(seconds=30))),
        (b"b", pending("b", 2, timedelta(seconds=30))),
    ]
    assert not agenda.has(1)
    agenda.rebuild(1, states)
    assert agenda.has(1) and not agenda.has(2)
    assert len(agenda) == 1
    agenda.note(b"c", pending("c", 2, timedelta(seconds=1)))  # partition 2 not built: left out
    assert agenda.due(2, T0 + timedelta(hours=1), "x") == []
    assert agenda.due(1, T0 + timedelta(seconds=30), "x") == [b"a"]


def test_due_follows_the_deadline_the_forget_time_and_the_deciding_event() -> None:
    agenda = Agenda(TIMING)
    agenda.rebuild(0, [])
    agenda.note(b"soon", pending("soon", 0, timedelta(seconds=5)))
    agenda.note(b"late", pending("late", 0, timedelta(seconds=50)))
    agenda.note(b"orphan", pending("orphan", 0, None))
    agenda.note(b"done", decided("done", 0, cause="tick-7"))
    assert agenda.due(0, T0 + timedelta(seconds=4), "tick-1") == []
    assert agenda.due(0, T0 + timedelta(seconds=5), "tick-2") == [b"soon"]
    assert sorted(agenda.due(0, T0 + timedelta(seconds=60), "tick-3")) == [
        b"done",
        b"late",
        b"soon",
    ]
    assert agenda.due(0, T0, "tick-7") == [b"done"]  # a redelivered deciding tick
    assert b"orphan" in agenda.due(0, T0 + timedelta(seconds=630), "tick-4")


def test_deletions_and_clear() -> None:
    agenda = Agenda(TIMING)
    agenda.rebuild(0, [(b"a", pending("a", 0, timedelta(seconds=1)))])
    agenda.note(b"a", None, partition=0)
    assert agenda.due(0, T0 + timedelta(days=1), "x") == []
    agenda.clear()
    assert not agenda.has(0)


def test_a_partition_wants_ticks_only_while_unbuilt_or_with_an_order_due() -> None:
    agenda = Agenda(TIMING)
    assert agenda.wants_tick(0, T0)  # not built: the tick builds its index
    agenda.rebuild(0, [])
    assert not agenda.wants_tick(0, T0 + timedelta(days=1))  # nothing to decide or forget
    agenda.note(b"a", pending("a", 0, timedelta(seconds=30)))
    agenda.note(b"b", pending("b", 0, timedelta(seconds=10)))
    assert not agenda.wants_tick(0, T0 + timedelta(seconds=9))
    assert agenda.wants_tick(0, T0 + timedelta(seconds=10))
    # The tick at 10 s: b is due; until its write is noted the partition wants another.
    assert agenda.due(0, T0 + timedelta(seconds=10), "tick-1") == [b"b"]
    assert agenda.wants_tick(0, T0 + timedelta(seconds=10))
    agenda.note(b"b", decided("b", 0, cause="tick-1"))  # forgotten at 60 s
    assert agenda.due(0, T0 + timedelta(seconds=11), "tick-2") == []
    assert not agenda.wants_tick(0, T0 + timedelta(seconds=29))
    assert agenda.wants_tick(0, T0 + timedelta(seconds=30))  # a's deadline
    agenda.note(b"a", None, partition=0)
    agenda.note(b"b", None, partition=0)
    agenda.due(0, T0 + timedelta(seconds=31), "tick-3")
    assert not agenda.wants_tick(0, T0 + timedelta(days=1))  # both gone: quiet again
    agenda.clear()
    assert agenda.wants_tick(0, T0)  # reassigned: rebuilt on its next tick


def test_an_earlier_order_noted_after_a_tick_wants_its_own_tick() -> None:
    agenda = Agenda(TIMING)
    agenda.rebuild(3, [(b"late", pending("late", 3, timedelta(minutes=5)))])
    agenda.due(3, T0, "tick-1")
    assert not agenda.wants_tick(3, T0 + timedelta(seconds=20))
    agenda.note(b"new", pending("new", 3, timedelta(seconds=20)))
    assert agenda.wants_tick(3, T0 + timedelta(seconds=20))
    assert agenda.wants_tick(2, T0)  # another partition, never built: wants one
