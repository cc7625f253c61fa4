"""A retry record waiting for its due time (``streaming.failures``): handled when due;
put back on its tier at once, unchanged, when the consumer's flow stops (a rebalance or
a stop) or its agent is cancelled, so nothing waits out the delay and nothing is lost."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from config.prometheus import Metrics
from contracts import encode
from contracts.failures import FaultSettings, RetryState
from streaming.disposition import Disposition
from streaming.failures import FailureHandling
from streaming.faults import FaultInjector
from streaming.retrying import RetryPolicy
from streaming.tests.test_guard_failures import FakeFailures, Message, guard_with, placed
from streaming.tests.test_hostile_headers import FakeTopic


class Waiting:
    """One tier of ``delay`` seconds, a guard recording what it handles, and the flow's
    "stopped" event."""

    def __init__(self, delay: float) -> None:
        self.stopped = asyncio.Event()
        self.tier = FakeTopic()
        self.handling = FailureHandling(
            "payment",
            tiers=[self.tier],  # type: ignore[list-item]
            dlq=FakeTopic(),  # type: ignore[arg-type]
            policy=RetryPolicy(delays=(delay,)),
            injector=FaultInjector("payment", FaultSettings()),
            metrics=Metrics(),
            flow_stopped=lambda: self.stopped,
        )
        self.handled: list[str] = []

        async def handle(event: Any) -> None:
            self.handled.append(event.order_id)

        guard = guard_with(handle, FakeFailures())
        self.handling.register(guard)
        self.event = placed()
        headers = RetryState("orders.v1", 3, 41).headers(
            [("trace", b"t-1")],
            group="payment",
            agent=guard.name,
            due_at_ms=int((time.time() + delay) * 1000),
        )
        self.record = Message(
            topic="orders.retry.16s.v1", partition=4, value=encode(self.event), headers=headers
        )

    async def retry(self) -> object:
        return await self.handling._retry_one(0, self.record)  # type: ignore[arg-type]

    def put_back(self) -> list[dict[str, Any]]:
        return self.tier.sent


def unchanged(w: Waiting) -> dict[str, Any]:
    return {
        "key": w.record.key,
        "value": w.record.value,
        "partition": 4,
        "headers": list(w.record.headers),
    }


async def test_a_record_is_handled_when_due_and_not_put_back() -> None:
    w = Waiting(delay=0.05)
    assert await w.retry() is Disposition.HANDLED
    assert w.handled == [w.event.order_id] and w.put_back() == []


async def test_a_stop_of_the_flow_puts_the_waiting_record_back_at_once() -> None:
    w = Waiting(delay=16.0)
    started = time.monotonic()
    waiting = asyncio.ensure_future(w.retry())
    await asyncio.sleep(0)  # it waits
    assert not waiting.done()
    w.stopped.set()  # a rebalance or a stop begins: Faust waits for the record in flight
    assert await asyncio.wait_for(waiting, 5) is Disposition.REQUEUED
    assert time.monotonic() - started < 5  # not the 16 s of its tier
    assert w.put_back() == [unchanged(w)]  # same partition, same due time
    assert w.handled == []


async def test_a_record_read_while_the_flow_is_stopped_is_put_back_without_waiting() -> None:
    w = Waiting(delay=16.0)
    w.stopped.set()
    assert await asyncio.wait_for(w.retry(), 5) is Disposition.REQUEUED
    assert w.put_back() == [unchanged(w)] and w.handled == []


async def test_a_cancelled_wait_puts_the_record_back_and_the_cancellation_goes_on() -> None:
    w = Waiting(delay=16.0)
    waiting = asyncio.ensure_future(w.retry())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert w.put_back() == [unchanged(w)] and w.handled == []
