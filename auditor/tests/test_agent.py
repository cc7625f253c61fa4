"""The auditor's wiring, run through Faust's ``agent.test_context()`` (no broker): the
table, the index, the sweep and what it publishes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import faust
import pytest
from faust.types import TP

from auditor.agent import AGENT, INPUTS, Auditor, checked_at, install
from auditor.settings import AuditorSettings
from config.env import PlatformSettings
from contracts import AuditSummary, Event, NotificationSent, encode, reaction
from contracts.testing import (
    RecordingPublisher,
    inventory_reserved,
    order_completed,
    order_placed,
    payment_authorized,
    payment_declined,
)
from streaming import Disposition
from streaming import create_app as create_streaming_app
from streaming.expiry import default_partition
from streaming.upstream.commit_watchdog import Snapshot

PARTITIONS = PlatformSettings().topic_partitions


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def read_to_end(partition: int) -> dict[TP, Snapshot]:
    return {
        TP(spec.name, partition): Snapshot(committed=5, acked=(), in_flight=(), highwater=5)
        for spec in INPUTS
    }


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def published() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def installed(
    clock: Clock, published: RecordingPublisher
) -> tuple[faust.App, Auditor, faust.types.AgentT[bytes]]:
    settings = AuditorSettings(
        platform=PlatformSettings(kafka_bootstrap_servers="127.0.0.1:1"),
        grace_seconds=10.0,
        deadline_seconds=30.0,
    )
    app = create_streaming_app("auditor-test", settings.platform)
    auditor, agent = install(app, settings, failures=None, publish=published, clock=clock)
    return app, auditor, agent


@pytest.fixture
async def agent(
    installed: tuple[faust.App, Auditor, faust.types.AgentT[bytes]],
) -> AsyncIterator[faust.types.AgentTestWrapperT]:
    app, _, _ = installed
    async with app.agents[AGENT].test_context() as agent:
        yield agent


async def put(agent: faust.types.AgentTestWrapperT, event: Event, order_id: str) -> None:
    key = order_id.encode()
    sent = await agent.put(encode(event), key=key, partition=default_partition(key, PARTITIONS))
    assert agent.results[sent.message.offset] is Disposition.HANDLED


async def test_a_redelivered_order_is_one_order_and_a_forged_charge_one_violation(
    installed: tuple[faust.App, Auditor, faust.types.AgentT[bytes]],
    agent: faust.types.AgentTestWrapperT,
    clock: Clock,
    published: RecordingPublisher,
) -> None:
    _, auditor, _ = installed
    order = order_placed(order_id="audit-1")
    outcome = order_completed(order)
    notice = reaction(
        outcome,
        NotificationSent,
        user_id=order.user_id,
        outcome="completed",
        channel="console",
        subject="s",
        body="b",
    )
    events = [order, payment_authorized(order), inventory_reserved(order), outcome, notice]
    partition = default_partition(b"audit-1", PARTITIONS)
    auditor.snapshot = lambda: read_to_end(partition)

    for event in events + events:  # every event delivered twice
        await put(agent, event, "audit-1")
    clock.now += 60
    await auditor.sweep()

    part = auditor.index[partition]
    assert part.orders == 1
    assert part.verdicts == {}
    [clean] = published
    assert isinstance(clean, AuditSummary)
    assert (clean.partition, clean.orders, clean.double_charged) == (partition, 1, 0)

    forged = payment_authorized("audit-1", amount=order.amount)
    for _ in range(2):
        await put(agent, forged, "audit-1")
    await auditor.sweep()
    await auditor.sweep()  # nothing changed: nothing published

    assert len(published) == 2
    summary = published[-1]
    assert isinstance(summary, AuditSummary)
    assert (summary.double_charged, summary.wrong_charge, summary.orders) == (1, 1, 1)
    assert [v.order_id for v in summary.violations] == ["audit-1"]
    counts = {labels["kind"]: n for labels, n in auditor.counts()}
    assert counts["double_charged"] == 1 and sum(counts.values()) == 2


async def test_every_message_moves_the_reading_on_judged_or_not(
    installed: tuple[faust.App, Auditor, faust.types.AgentT[bytes]],
    agent: faust.types.AgentTestWrapperT,
) -> None:
    _, auditor, _ = installed
    key = b"audit-2"
    partition = default_partition(key, PARTITIONS)
    declined = await agent.put(encode(payment_declined("audit-2")), key=key, partition=partition)
    assert agent.results[declined.message.offset] is Disposition.SKIPPED  # not judged
    poison = await agent.put(b"not an event", key=key, partition=partition)
    assert agent.results[poison.message.offset] is Disposition.INVALID

    [(where, (offset, _))] = auditor.seen.items()
    assert where[1] == partition and offset == poison.message.offset
    assert auditor.index.get(partition) is None or auditor.index[partition].orders == 0


async def test_an_old_event_of_an_unknown_order_is_not_judged_even_redriven_now(
    installed: tuple[faust.App, Auditor, faust.types.AgentT[bytes]],
    agent: faust.types.AgentTestWrapperT,
    clock: Clock,
) -> None:
    _, auditor, _ = installed
    two_days_ago = datetime.fromtimestamp(clock.now - 2 * 86400, UTC)
    old = payment_authorized("audit-3", at=two_days_ago)  # recorded now, happened then

    await put(agent, old, "audit-3")

    assert sum(p.orders for p in auditor.index.values()) == 0
    recent = order_placed(order_id="audit-3")
    await put(agent, recent, "audit-3")
    assert sum(p.orders for p in auditor.index.values()) == 1


def test_checked_at_is_now_once_read_to_the_end_else_the_newest_record_time() -> None:
    now = 1_000.0
    snapshot = read_to_end(2)
    seen: dict[tuple[str, int], tuple[int, float]] = {}

    assert checked_at(2, snapshot, seen, now) == now  # committed at the end: idle
    behind = dict(snapshot)
    behind[TP("payments.v1", 2)] = Snapshot(
        committed=3, acked=(), in_flight=(), read=3, highwater=5
    )
    assert checked_at(2, behind, seen, now) is None  # behind, and nothing read from it yet
    seen[("payments.v1", 2)] = (3, 950.0)
    assert checked_at(2, behind, seen, now) == 950.0  # read up to the event at 950
    seen[("payments.v1", 2)] = (4, 990.0)
    assert checked_at(2, behind, seen, now) == now  # the last one handled: at the end
    in_flight = {
        **behind,
        TP("payments.v1", 2): Snapshot(committed=3, acked=(), in_flight=(4,), read=4, highwater=5),
    }
    assert checked_at(2, in_flight, seen, now) == 990.0  # still being handled
    assert checked_at(3, snapshot, seen, now) is None  # not assigned here
