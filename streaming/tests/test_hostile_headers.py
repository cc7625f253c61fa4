"""Hostile Kafka headers (issue 12, finding 2): a header nobody can read is ignored or
dead-letters its record, never escapes an agent, and the next record is processed."""

from __future__ import annotations

import time
from typing import Any

from config.prometheus import Metrics
from contracts import encode
from contracts import failures as wire
from contracts.failures import FaultSettings, RetryState
from streaming.disposition import Disposition
from streaming.failures import FailureHandling
from streaming.faults import FaultInjector
from streaming.retrying import RetryPolicy
from streaming.tests.test_guard_failures import FakeFailures, Message, guard_with, placed

DEEP = b'[{"x":' + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"}]"
HUGE = b"[" + b",".join([b'{"x":"' + b"y" * 1000 + b'"}'] * 2_000) + b"]"


def recording_guard() -> tuple[Any, FakeFailures, list[str]]:
    handled: list[str] = []

    async def handle(event: Any) -> None:
        handled.append(event.order_id)

    failures = FakeFailures()
    return guard_with(handle, failures), failures, handled


async def test_a_deeply_nested_history_header_is_ignored_and_the_event_handled() -> None:
    guard, failures, handled = recording_guard()
    event = placed()
    hostile = Message(value=encode(event), headers=[(wire.HISTORY, DEEP)])
    assert await guard.handle(hostile, hostile.value) is Disposition.HANDLED
    assert await guard.handle(Message(value=encode(event), offset=42), encode(event)) is (
        Disposition.HANDLED
    )
    assert handled == [event.order_id, event.order_id]
    assert failures.dead == []


async def test_a_huge_history_header_is_ignored() -> None:
    guard, _, handled = recording_guard()
    event = placed()
    hostile = Message(value=encode(event), headers=[(wire.HISTORY, HUGE)])
    assert len(HUGE) > wire.HISTORY_MAX_BYTES
    assert await guard.handle(hostile, hostile.value) is Disposition.HANDLED
    assert handled == [event.order_id]


async def test_headers_that_cannot_be_read_dead_letter_the_record_and_the_next_goes_on() -> None:
    guard, failures, handled = recording_guard()
    event = placed()
    unreadable = Message(value=encode(event), headers=[("x", object())])  # type: ignore[list-item]
    assert await guard.handle(unreadable, unreadable.value) is Disposition.INVALID
    assert [(s.origin_offset, kind) for s, kind in failures.dead] == [(41, "ContractError")]
    nxt = Message(value=encode(event), offset=42)
    assert await guard.handle(nxt, nxt.value) is Disposition.HANDLED
    assert handled == [event.order_id]


def handling(delays: tuple[float, ...] = (1.0, 4.0, 16.0)) -> FailureHandling:
    policy = RetryPolicy(delays=delays)
    return FailureHandling(
        "payment",
        tiers=[object() for _ in delays],  # type: ignore[misc]
        dlq=object(),  # type: ignore[arg-type]
        policy=policy,
        injector=FaultInjector("payment", FaultSettings()),
        metrics=Metrics(),
    )


def test_a_due_time_out_of_range_is_clamped_to_its_tier() -> None:
    h = handling()
    now_ms = int(time.time() * 1000)
    assert h.wait_s(0, 10**30) == 1.0 * 1.1  # far future: the tier's longest wait
    assert h.wait_s(2, 10**400) == 16.0 * 1.1  # beyond any float
    assert h.wait_s(1, -(10**400)) == 0.0  # far past
    assert h.wait_s(0, 0) == 0.0
    assert 0.0 < h.wait_s(0, now_ms + 500) <= 0.5


async def test_a_retry_record_due_in_a_million_years_runs_after_its_tier_delay() -> None:
    h = handling(delays=(0.05,))
    handled: list[str] = []

    async def handle(event: Any) -> None:
        handled.append(event.order_id)

    guard = guard_with(handle, FakeFailures())
    h.register(guard)
    event = placed()
    state = RetryState("orders.v1", 3, 41).failed(wire_now(), "orders.v1", TimeoutError())
    forged = state.headers([], group="payment", agent=guard.name, due_at_ms=10**30)
    record = Message(topic="orders.retry.1s.v1", value=encode(event), headers=forged)
    started = time.monotonic()
    assert await h._retry_one(0, record) is Disposition.HANDLED  # type: ignore[arg-type]
    assert time.monotonic() - started < 2
    assert handled == [event.order_id]


class FakeTopic:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, **record: Any) -> None:
        self.sent.append(record)


async def test_unreadable_retry_headers_of_our_group_are_dead_lettered_and_the_agent_goes_on() -> (
    None
):
    h = handling(delays=(0.05,))
    dlq = h._dlq = FakeTopic()  # type: ignore[assignment]
    guard, _, handled = recording_guard()
    h.register(guard)
    event = placed()
    for bad in (b"9" * 5000, b"\xff", b"1e400"):
        forged = RetryState("orders.v1", 3, 41).headers(
            [], group="payment", agent=guard.name, due_at_ms=0
        )
        forged = [(k, bad if k == wire.RETRY_DUE_AT else v) for k, v in forged]
        record = Message(topic="orders.retry.1s.v1", value=encode(event), headers=forged)
        assert await h._retry_one(0, record) is Disposition.INVALID  # type: ignore[arg-type]
    assert len(dlq.sent) == 3 and handled == []
    # another group's record is left to that group
    other = [(wire.RETRY_GROUP, b"inventory"), (wire.RETRY_DUE_AT, b"\xff")]
    record = Message(topic="orders.retry.1s.v1", value=encode(event), headers=other)
    assert await h._retry_one(0, record) is Disposition.SKIPPED  # type: ignore[arg-type]
    # and the next good record is processed
    good = RetryState("orders.v1", 3, 42).headers(
        [], group="payment", agent=guard.name, due_at_ms=0
    )
    record = Message(topic="orders.retry.1s.v1", value=encode(event), headers=good)
    assert await h._retry_one(0, record) is Disposition.HANDLED  # type: ignore[arg-type]
    assert handled == [event.order_id]


def wire_now() -> Any:
    from streaming.retrying import now_utc

    return now_utc()
