"""The saga agent's wiring, run through Faust's ``agent.test_context()`` (no broker)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import faust
import pytest

from config.env import PlatformSettings
from contracts import (
    DeadlineTick,
    Event,
    InventoryReleased,
    InventoryReserved,
    OrderCancelled,
    OrderCompleted,
    OrderLine,
    OrderPlaced,
    PaymentAuthorized,
    PaymentRefunded,
    StockLine,
    encode,
    key_of,
    reaction,
)
from saga.agent import AGENT, TABLE, tick_events
from saga.app import create_app
from saga.domain import Decided, Pending, load_state
from saga.settings import SagaSettings
from streaming import Disposition

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
FLUSH = "flush"


class Sent(list[Event | str]):
    """A fake ``Publish`` and producer flush: remembers what the agent did, in order."""

    async def __call__(self, event: Event) -> None:
        self.append(event)

    async def flush(self) -> None:
        self.append(FLUSH)

    def outcomes(self) -> list[Event]:
        return [e for e in self if not isinstance(e, str)]


def placed(order_id: str) -> OrderPlaced:
    return OrderPlaced(
        occurred_at=T0,
        order_id=order_id,
        correlation_id=order_id,
        user_id="user-1",
        currency="EUR",
        amount=Decimal("10.00"),
        items=(OrderLine(product_id="p-1", quantity=1, unit_price=Decimal("10.00")),),
    )


def authorized(order: OrderPlaced) -> PaymentAuthorized:
    return reaction(order, PaymentAuthorized, user_id="user-1", amount=order.amount, currency="EUR")


def reserved(order: OrderPlaced) -> InventoryReserved:
    return reaction(order, InventoryReserved, items=(StockLine(product_id="p-1", quantity=1),))


def tick(partition: int, after: timedelta) -> DeadlineTick:
    return DeadlineTick(occurred_at=T0 + after, correlation_id="saga-ticker", partition=partition)


class Wall:
    """The saga's wall clock here: it starts at T0 and follows the ticks ``put`` feeds
    (the agent honours a tick only up to its wall clock)."""

    now = T0


WALL = Wall()


@pytest.fixture(autouse=True)
def _wall() -> None:
    WALL.now = T0


@pytest.fixture
def sent() -> Sent:
    return Sent()


@pytest.fixture
def app(sent: Sent) -> faust.App:
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
    agent: faust.types.AgentTestWrapperT, app: faust.App, sent: Sent
) -> None:
    order = placed("order-1")
    for event in (order, authorized(order), reserved(order)):
        assert await put(agent, event, partition=4) is Disposition.HANDLED
    # Redelivered answers re-decide the same outcome: no flush per decision.
    assert FLUSH not in sent
    [outcome] = sent.outcomes()
    assert isinstance(outcome, OrderCompleted)
    state = stored(app, "order-1")
    assert isinstance(state, Decided)
    assert (state.partition, state.outcome) == (4, outcome)


async def test_a_duplicate_changes_nothing_and_sends_nothing(
    agent: faust.types.AgentTestWrapperT, app: faust.App, sent: Sent
) -> None:
    order = placed("order-1")
    pay = authorized(order)
    for event in (order, pay, order, pay):
        await put(agent, event, partition=1)
    assert sent == []
    state = stored(app, "order-1")
    assert isinstance(state, Pending)
    assert state.payment == pay


async def test_a_tick_decides_only_the_orders_of_its_own_partition(
    agent: faust.types.AgentTestWrapperT, app: faust.App, sent: Sent
) -> None:
    await put(agent, placed("order-a"), partition=1)
    await put(agent, placed("order-b"), partition=2)
    await put(agent, tick(1, timedelta(seconds=29)), partition=1)
    assert sent == []
    await put(agent, tick(1, timedelta(seconds=30)), partition=1)
    assert [(e.order_id, e.reason) for e in sent.outcomes()] == [("order-a", "timeout")]  # type: ignore[union-attr]
    assert isinstance(stored(app, "order-b"), Pending)
    await put(agent, tick(2, timedelta(seconds=31)), partition=2)
    assert [e.order_id for e in sent.outcomes()] == ["order-a", "order-b"]  # type: ignore[union-attr]
    assert all(isinstance(e, OrderCancelled) for e in sent.outcomes())


async def test_markers_are_deleted_after_the_retention(
    agent: faust.types.AgentTestWrapperT, app: faust.App, sent: Sent
) -> None:
    order = placed("order-1")
    for event in (order, authorized(order), reserved(order)):
        await put(agent, event, partition=3)
    retention_over = timedelta(seconds=30) + timedelta(minutes=10)
    await put(agent, tick(3, retention_over - timedelta(seconds=1)), partition=3)
    assert isinstance(stored(app, "order-1"), Decided)
    await put(agent, tick(3, retention_over), partition=3)
    assert stored(app, "order-1") is None
    assert len(sent.outcomes()) == 1


async def test_a_timeout_is_sent_only_after_the_flush(
    agent: faust.types.AgentTestWrapperT, app: faust.App, sent: Sent
) -> None:
    await put(agent, placed("order-1"), partition=3)
    await put(agent, tick(3, timedelta(minutes=1)), partition=3)

    assert sent[0] == FLUSH  # the marker is durable before the timeout leaves
    [outcome] = sent.outcomes()
    assert outcome.reason == "timeout"  # type: ignore[union-attr]


async def test_ticks_wait_a_grace_after_an_assignment(
    agent: faust.types.AgentTestWrapperT, app: faust.App, sent: Sent
) -> None:
    await put(agent, placed("order-1"), partition=3)
    await app.on_partitions_assigned.send(set())
    await put(agent, tick(3, timedelta(minutes=1)), partition=3)

    assert sent.outcomes() == []  # redelivered answers come first


async def test_the_due_index_is_rebuilt_from_the_table_after_a_rebalance(
    agent: faust.types.AgentTestWrapperT,
    app: faust.App,
    sent: Sent,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("saga.agent.RECOVERY_GRACE_S", 0.0)
    await put(agent, placed("order-a"), partition=5)
    await put(agent, tick(5, timedelta(seconds=1)), partition=5)  # builds the index
    await app.on_partitions_assigned.send(set())  # drops it
    await put(agent, placed("order-b"), partition=5)  # written while it is not built
    await put(agent, tick(5, timedelta(seconds=31)), partition=5)  # b was seen at T0 + 1 s
    assert sorted(e.order_id for e in sent.outcomes()) == ["order-a", "order-b"]  # type: ignore[union-attr]


async def test_a_tick_read_from_another_partition_is_ignored(
    agent: faust.types.AgentTestWrapperT, app: faust.App, sent: Sent
) -> None:
    await put(agent, placed("order-1"), partition=2)
    # its table writes would go to partition 0's changelog: not acted upon
    assert await put(agent, tick(2, timedelta(minutes=1)), partition=0) is Disposition.HANDLED
    assert sent == []
    assert isinstance(stored(app, "order-1"), Pending)


async def test_foreign_and_invalid_messages_are_contained(
    agent: faust.types.AgentTestWrapperT, app: faust.App, sent: Sent
) -> None:
    order = placed("order-1")
    refund = reaction(
        order, PaymentRefunded, user_id="user-1", amount=order.amount, currency="EUR", reason="x"
    )
    release = reaction(order, InventoryReleased, items=(StockLine(product_id="p-1", quantity=1),))
    completed = OrderCompleted(
        order_id="order-1", correlation_id="order-1", user_id="u", amount=Decimal(1), currency="EUR"
    )
    for foreign in (refund, release, completed):
        assert await put(agent, foreign) is Disposition.SKIPPED
    assert await put(agent, b"not json") is Disposition.INVALID
    assert await put(agent, None) is Disposition.INVALID
    assert await put(agent, order) is Disposition.HANDLED  # still serving
    assert sent == []
    assert isinstance(stored(app, "order-1"), Pending)


async def test_a_tick_ahead_of_the_wall_clock_counts_as_the_wall_clock(
    agent: faust.types.AgentTestWrapperT, app: faust.App, sent: Sent
) -> None:
    await put(agent, placed("order-1"), partition=4)
    forged = tick(4, timedelta(days=365))
    WALL.now = T0 + timedelta(seconds=29)
    message = await agent.put(encode(forged), key=key_of(forged), partition=4)
    assert agent.results[message.message.offset] is Disposition.HANDLED
    assert sent == []  # a year ahead, but the deadline has not passed on the wall clock
    assert isinstance(stored(app, "order-1"), Pending)
    WALL.now = T0 + timedelta(seconds=30)
    await agent.put(encode(forged), key=key_of(forged), partition=4)
    assert [e.reason for e in sent.outcomes()] == ["timeout"]  # type: ignore[attr-defined]


def test_the_ticker_sends_one_tick_per_partition() -> None:
    ticks = tick_events(6, at=T0)
    assert [t.partition for t in ticks] == [0, 1, 2, 3, 4, 5]
    assert {t.occurred_at for t in ticks} == {T0}
    assert len({t.event_id for t in ticks}) == 6
