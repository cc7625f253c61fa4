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
