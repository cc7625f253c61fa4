"""The saga agent's wiring, run through Faust's ``agent.test_context()`` (no broker)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import faust
import pytest

from config.env import PlatformSettings
from contracts import (
    DeadlineTick,
    Event,
    OrderCancelled,
    OrderCompleted,
    encode,
    key_of,
)
from contracts.testing import (
    FLUSH,
    T0,
    RecordingPublisher,
    deadline_tick,
    inventory_released,
    inventory_reserved,
    order_completed,
    order_placed,
    payment_authorized,
    payment_refunded,
)
from saga.agent import AGENT, TABLE, tick_events
from saga.app import create_app
from saga.domain import Decided, Pending, load_state
from saga.settings import SagaSettings
from streaming import Disposition


class Wall:
    """The saga's wall clock here: it starts at T0 and follows the ticks ``put`` feeds
    (the agent honours a tick only up to its wall clock)."""

    now = T0


WALL = Wall()


@pytest.fixture(autouse=True)
def _wall() -> None:
    WALL.now = T0


@pytest.fixture
def sent() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def app(sent: RecordingPublisher) -> faust.App:
    settings = SagaSettings(platform=PlatformSettings(kafka_bootstrap_servers="127.0.0.1:1"))
    return create_app(
        settings,
        publish=sent,
        flush=sent.flush,
        clock=lambda: WALL.now,
        route_failures=False,
    )


@pytest.fixture
async def agent(app: faust.App) -> AsyncIterator[faust.types.AgentTestWrapperT]:
    async with app.agents[AGENT].test_context() as agent:
        yield agent


async def put(
    agent: faust.types.AgentTestWrapperT, event: Event | bytes | None, partition: int = 0
) -> Disposition:
    if isinstance(event, DeadlineTick):
        WALL.now = max(WALL.now, event.occurred_at)
    value = encode(event) if isinstance(event, Event) else event
    key = key_of(event) if isinstance(event, Event) else b"k"
    message = await agent.put(value, key=key, partition=partition)
    outcome = agent.results[message.message.offset]
    assert isinstance(outcome, Disposition)
    return outcome


def stored(app: faust.App, order_id: str) -> Pending | Decided | None:
    data = app.tables[TABLE].get(order_id.encode())
    return None if data is None else load_state(data)


async def test_an_order_is_completed_recorded_and_sent_without_a_flush(
    agent: faust.types.AgentTestWrapperT, app: faust.App, sent: RecordingPublisher
) -> None:
    order = order_placed(at=T0)
    for event in (order, payment_authorized(order), inventory_reserved(order)):
        assert await put(agent, event, partition=4) is Disposition.HANDLED
    # Redelivered answers re-decide the same outcome: no flush per decision.
    assert FLUSH not in sent
    [outcome] = sent.events()
    assert isinstance(outcome, OrderCompleted)
    state = stored(app, "order-1")
    assert isinstance(state, Decided)
    assert (state.partition, state.outcome) == (4, outcome)


async def test_a_duplicate_changes_nothing_and_sends_nothing(
    agent: faust.types.AgentTestWrapperT, app: faust.App, sent: RecordingPublisher
) -> None:
    order = order_placed(at=T0)
    pay = payment_authorized(order)
    for event in (order, pay, order, pay):
        await put(agent, event, partition=1)
    assert sent == []
    state = stored(app, "order-1")
    assert isinstance(state, Pending)
    assert state.payment == pay


async def test_a_tick_decides_only_the_orders_of_its_own_partition(
    agent: faust.types.AgentTestWrapperT, app: faust.App, sent: RecordingPublisher
) -> None:
    await put(agent, order_placed(order_id="order-a", at=T0), partition=1)
    await put(agent, order_placed(order_id="order-b", at=T0), partition=2)
    await put(agent, deadline_tick(1, T0 + timedelta(seconds=29)), partition=1)
    assert sent == []
    await put(agent, deadline_tick(1, T0 + timedelta(seconds=30)), partition=1)
    assert [(e.order_id, e.reason) for e in sent.events()] == [("order-a", "timeout")]  # type: ignore[union-attr]
    assert isinstance(stored(app, "order-b"), Pending)
    await put(agent, deadline_tick(2, T0 + timedelta(seconds=31)), partition=2)
    assert [e.order_id for e in sent.events()] == ["order-a", "order-b"]  # type: ignore[union-attr]
    assert all(isinstance(e, OrderCancelled) for e in sent.events())


async def test_markers_are_deleted_after_the_retention(
    agent: faust.types.AgentTestWrapperT, app: faust.App, sent: RecordingPublisher
) -> None:
    order = order_placed(at=T0)
    for event in (order, payment_authorized(order), inventory_reserved(order)):
        await put(agent, event, partition=3)
    retention_over = timedelta(seconds=30) + timedelta(minutes=10)
    await put(agent, deadline_tick(3, T0 + retention_over - timedelta(seconds=1)), partition=3)
    assert isinstance(stored(app, "order-1"), Decided)
    await put(agent, deadline_tick(3, T0 + retention_over), partition=3)
    assert stored(app, "order-1") is None
    assert len(sent.events()) == 1


async def test_a_timeout_is_sent_only_after_the_flush(
    agent: faust.types.AgentTestWrapperT, app: faust.App, sent: RecordingPublisher
) -> None:
    await put(agent, order_placed(at=T0), partition=3)
    await put(agent, deadline_tick(3, T0 + timedelta(minutes=1)), partition=3)

    assert sent[0] == FLUSH  # the marker is durable before the timeout leaves
    [outcome] = sent.events()
    assert outcome.reason == "timeout"  # type: ignore[union-attr]


async def test_ticks_wait_a_grace_after_an_assignment(
    agent: faust.types.AgentTestWrapperT, app: faust.App, sent: RecordingPublisher
) -> None:
    await put(agent, order_placed(at=T0), partition=3)
    await app.on_partitions_assigned.send(set())
    await put(agent, deadline_tick(3, T0 + timedelta(minutes=1)), partition=3)

    assert sent.events() == []  # redelivered answers come first


async def test_the_due_index_is_rebuilt_from_the_table_after_a_rebalance(
    agent: faust.types.AgentTestWrapperT,
    app: faust.App,
    sent: RecordingPublisher,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("saga.agent.RECOVERY_GRACE_S", 0.0)
    await put(agent, order_placed(order_id="order-a", at=T0), partition=5)
    await put(agent, deadline_tick(5, T0 + timedelta(seconds=1)), partition=5)  # builds the index
    await app.on_partitions_assigned.send(set())  # drops it
    await put(
        agent, order_placed(order_id="order-b", at=T0), partition=5
    )  # written while it is not built
    await put(
        agent, deadline_tick(5, T0 + timedelta(seconds=31)), partition=5
    )  # b was seen at T0 + 1 s
    assert sorted(e.order_id for e in sent.events()) == ["order-a", "order-b"]  # type: ignore[union-attr]


async def test_a_tick_read_from_another_partition_is_ignored(
    agent: faust.types.AgentTestWrapperT, app: faust.App, sent: RecordingPublisher
) -> None:
    await put(agent, order_placed(at=T0), partition=2)
    # its table writes would go to partition 0's changelog: not acted upon
    assert (
        await put(agent, deadline_tick(2, T0 + timedelta(minutes=1)), partition=0)
        is Disposition.HANDLED
    )
    assert sent == []
    assert isinstance(stored(app, "order-1"), Pending)


async def test_foreign_and_invalid_messages_are_contained(
    agent: faust.types.AgentTestWrapperT, app: faust.App, sent: RecordingPublisher
) -> None:
    order = order_placed(at=T0)
    refund = payment_refunded(order, "x")
    release = inventory_released(order)
    completed = order_completed("order-1", user_id="u", amount=1)
    for foreign in (refund, release, completed):
        assert await put(agent, foreign) is Disposition.SKIPPED
    assert await put(agent, b"not json") is Disposition.INVALID
    assert await put(agent, None) is Disposition.INVALID
    assert await put(agent, order) is Disposition.HANDLED  # still serving
    assert sent == []
    assert isinstance(stored(app, "order-1"), Pending)


async def test_a_tick_ahead_of_the_wall_clock_counts_as_the_wall_clock(
    agent: faust.types.AgentTestWrapperT, app: faust.App, sent: RecordingPublisher
) -> None:
    await put(agent, order_placed(at=T0), partition=4)
    forged = deadline_tick(4, T0 + timedelta(days=365))
    WALL.now = T0 + timedelta(seconds=29)
    message = await agent.put(encode(forged), key=key_of(forged), partition=4)
    assert agent.results[message.message.offset] is Disposition.HANDLED
    assert sent == []  # a year ahead, but the deadline has not passed on the wall clock
    assert isinstance(stored(app, "order-1"), Pending)
    WALL.now = T0 + timedelta(seconds=30)
    await agent.put(encode(forged), key=key_of(forged), partition=4)
    assert [e.reason for e in sent.events()] == ["timeout"]  # type: ignore[attr-defined]


def test_the_ticker_sends_one_tick_per_partition() -> None:
    ticks = tick_events(6, at=T0)
    assert [t.partition for t in ticks] == [0, 1, 2, 3, 4, 5]
    assert {t.occurred_at for t in ticks} == {T0}
    assert len({t.event_id for t in ticks}) == 6
