"""The inventory agent's wiring, through Faust's ``agent.test_context()`` (no broker, no Redis)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import faust
import msgspec
import pytest

from config.env import PlatformSettings
from contracts import (
    ContractError,
    InventoryRejected,
    InventoryReleased,
    InventoryReserved,
    PageViewed,
    StockLevel,
    decode,
    encode,
    key_of,
)
from contracts.testing import RecordingPublisher, order_cancelled, order_placed
from inventory.agent import AGENT
from inventory.app import create_app
from inventory.catalog import Product
from inventory.domain import violations
from inventory.memory import MemoryStore
from inventory.settings import InventorySettings
from streaming import Disposition

PRODUCTS = (
    Product("p-a", "Thing A", Decimal("2.50"), 3),
    Product("p-b", "Thing B", Decimal("1.00"), 10),
)


class Clock:
    """A clock that advances one millisecond per reading."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


#: The lines of the orders below: two of the three "p-a" in stock, one "p-b".
LINES = (("p-a", 2, "2.50"), ("p-b", 1, "1.00"))


@pytest.fixture
def sent() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore(PRODUCTS, clock=Clock())


def settings() -> InventorySettings:
    return InventorySettings(platform=PlatformSettings(kafka_bootstrap_servers="127.0.0.1:1"))


@pytest.fixture
def app(sent: RecordingPublisher, store: MemoryStore) -> faust.App:
    return create_app(settings(), store=store, publish=sent, route_failures=False)


@pytest.fixture
async def agent(app: faust.App) -> AsyncIterator[faust.types.AgentTestWrapperT]:
    async with app.agents[AGENT].test_context() as agent:
        yield agent


async def put(
    agent: faust.types.AgentTestWrapperT, value: bytes | None, key: bytes | None = None
) -> Disposition:
    """Put ``value`` under ``key``: by default its order id (``contracts.key_of``), as
    producers key order events."""
    if key is None:
        try:
            key = key_of(decode(value or b""))
        except ContractError:
            key = b"k"
    event = await agent.put(value, key=key)
    outcome = agent.results[event.message.offset]
    assert isinstance(outcome, Disposition)
    return outcome


def test_the_agent_reads_orders_and_outcomes(app: faust.App) -> None:
    assert app.agents[AGENT].channel.topics == ("orders.v1", "orders.outcome.v1")  # type: ignore[attr-defined]


async def test_a_reservation_is_published_with_the_new_levels(
    agent: faust.types.AgentTestWrapperT, sent: RecordingPublisher, store: MemoryStore
) -> None:
    order = order_placed(*LINES)
    assert await put(agent, encode(order)) is Disposition.HANDLED
    reserved, *levels = sent
    assert isinstance(reserved, InventoryReserved)
    assert reserved.causation_id == str(order.event_id)
    assert [(lv.product_id, lv.available, lv.reserved) for lv in levels] == [  # type: ignore[attr-defined]
        ("p-a", 1, 2),
        ("p-b", 9, 1),
    ]
    assert all(
        isinstance(lv, StockLevel) and lv.causation_id == str(order.event_id) for lv in levels
    )
    assert (await store.counters())["p-a"].available == 1


async def test_a_redelivery_publishes_the_same_events_and_reserves_nothing_more(
    agent: faust.types.AgentTestWrapperT, sent: RecordingPublisher, store: MemoryStore
) -> None:
    data = encode(order_placed(*LINES))
    await put(agent, data)
    first = list(sent)
    sent.clear()
    await put(agent, data)
    assert [encode(e) for e in sent] == [encode(e) for e in first]
    assert (await store.counters())["p-a"].reserved == 2


async def test_a_cancellation_releases_and_publishes_the_levels(
    agent: faust.types.AgentTestWrapperT, sent: RecordingPublisher, store: MemoryStore
) -> None:
    order = order_placed(*LINES)
    await put(agent, encode(order))
    sent.clear()
    await put(agent, encode(order_cancelled(order)))
    released, *levels = sent
    assert isinstance(released, InventoryReleased)
    assert [(lv.product_id, lv.available) for lv in levels] == [("p-a", 3), ("p-b", 10)]  # type: ignore[attr-defined]
    assert violations(await store.counters()) == []


async def test_an_order_after_its_cancellation_is_reserved_and_released_at_once(
    agent: faust.types.AgentTestWrapperT, sent: RecordingPublisher, store: MemoryStore
) -> None:
    order = order_placed(*LINES)
    await put(agent, encode(order_cancelled(order)))
    assert sent == []
    await put(agent, encode(order))
    assert [type(e) for e in sent] == [
        InventoryReserved,
        InventoryReleased,
        StockLevel,
        StockLevel,
    ]
    assert (await store.counters())["p-a"].available == 3


async def test_a_short_order_is_rejected_and_publishes_no_level(
    agent: faust.types.AgentTestWrapperT, sent: RecordingPublisher
) -> None:
    await put(agent, encode(order_placed(("p-a", 4, "2.50"), ("p-b", 1, "1.00"))))
    [rejected] = sent
    assert isinstance(rejected, InventoryRejected)
    assert [(s.product_id, s.requested, s.available) for s in rejected.shortages] == [("p-a", 4, 3)]


async def test_bad_and_foreign_messages_are_contained(
    agent: faust.types.AgentTestWrapperT, sent: RecordingPublisher
) -> None:
    assert await put(agent, b"not json") is Disposition.INVALID
    assert await put(agent, None) is Disposition.INVALID
    assert await put(agent, encode(PageViewed(correlation_id="c", page="/"))) is Disposition.SKIPPED
    assert await put(agent, encode(order_placed(*LINES, order_id="order-2"))) is Disposition.HANDLED
    assert {e.order_id for e in sent.of(InventoryReserved)} == {"order-2"}  # type: ignore[attr-defined]


async def test_a_stale_order_is_ignored_until_its_cancellation_is_recorded(
    agent: faust.types.AgentTestWrapperT, sent: RecordingPublisher, store: MemoryStore
) -> None:
    """700 s late: nothing reserved; once the saga's cancellation is recorded, a
    redelivery of the order is reserved and released at once (inventory.domain)."""
    fresh = order_placed(*LINES)
    order = msgspec.structs.replace(fresh, occurred_at=fresh.occurred_at - timedelta(seconds=700))
    assert await put(agent, encode(order)) is Disposition.HANDLED
    assert sent == [] and store.applied == 0
    await put(agent, encode(order_cancelled(order)))
    await put(agent, encode(order))
    assert [type(e) for e in sent.of(InventoryReserved) + sent.of(InventoryReleased)] == [
        InventoryReserved,
        InventoryReleased,
    ]
    assert violations(await store.counters()) == []
    assert all(c.reserved == 0 for c in (await store.counters()).values())


async def test_a_failing_store_does_not_stop_the_agent(
    sent: RecordingPublisher, store: MemoryStore
) -> None:
    calls = 0

    class Flaky:
        async def apply(self, event):  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            if calls == 1:
                raise ConnectionError("redis away")
            return await store.apply(event)

    app = create_app(settings(), store=Flaky(), publish=sent, route_failures=False)
    async with app.agents[AGENT].test_context() as agent:
        assert await put(agent, encode(order_placed(*LINES))) is Disposition.FAILED
        assert (
            await put(agent, encode(order_placed(*LINES, order_id="order-2")))
            is Disposition.HANDLED
        )
    assert [e.order_id for e in sent.of(InventoryReserved)] == ["order-2"]  # type: ignore[attr-defined]
