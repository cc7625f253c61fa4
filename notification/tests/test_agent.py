"""The notification agent's wiring, run through Faust's ``agent.test_context()`` (no broker)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import faust
import pytest

from config.env import PlatformSettings
from contracts import (
    Event,
    NotificationSent,
    encode,
)
from contracts.testing import (
    T0,
    RecordingPublisher,
    order_cancelled,
    order_completed,
    payment_authorized,
    payment_refunded,
)
from notification.agent import AGENT, TABLE
from notification.app import create_app
from notification.domain import Awaiting, Notified, load_record
from notification.senders import MemorySender
from notification.settings import NotificationSettings
from streaming import Disposition
from streaming.expiry import default_partition

PARTITIONS = PlatformSettings().topic_partitions
OUT_OF_STOCK = "p-1: 0 of 2 in stock"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def neighbours(order_id: str, n: int) -> list[str]:
    """``n`` other order ids on the same partition as ``order_id``."""
    home = default_partition(order_id.encode(), PARTITIONS)
    ids = (f"{order_id}-{i}" for i in range(1_000))
    return [o for o in ids if default_partition(o.encode(), PARTITIONS) == home][:n]


@pytest.fixture
def published() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def sender() -> MemorySender:
    return MemorySender()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(published: RecordingPublisher, sender: MemorySender, clock: Clock) -> faust.App:
    settings = NotificationSettings(
        platform=PlatformSettings(kafka_bootstrap_servers="127.0.0.1:1"),
        retention=timedelta(hours=1),
    )
    return create_app(settings, sender=sender, publish=published, clock=clock, route_failures=False)


@pytest.fixture
async def agent(app: faust.App) -> AsyncIterator[faust.types.AgentTestWrapperT]:
    async with app.agents[AGENT].test_context() as agent:
        yield agent


async def put(agent: faust.types.AgentTestWrapperT, event: Event, key: str) -> Disposition:
    data = key.encode()
    partition = default_partition(data, PARTITIONS)
    sent = await agent.put(encode(event), key=data, partition=partition)
    outcome = agent.results[sent.message.offset]
    assert isinstance(outcome, Disposition)
    return outcome


async def test_one_notice_per_outcome_sent_and_published(
    agent: faust.types.AgentTestWrapperT,
    app: faust.App,
    sender: MemorySender,
    published: RecordingPublisher,
) -> None:
    await put(agent, payment_authorized("order-1", at=T0, amount="30.00"), "order-1")
    await put(agent, payment_refunded("order-1", at=T0, amount="30.00"), "order-1")
    assert isinstance(load_record(app.tables[TABLE][b"order-1"]), Awaiting)
    for _ in range(2):  # the outcome redelivered
        assert (
            await put(
                agent, order_cancelled("order-1", "out_of_stock", OUT_OF_STOCK, at=T0), "order-1"
            )
            is Disposition.HANDLED
        )
    [notice] = sender.sent
    assert published == [notice]
    assert isinstance(notice, NotificationSent)
    assert notice.channel == "memory"
    assert "out of stock" in notice.body
    assert notice.body.endswith("We have refunded 30.00 EUR.")
    marker = load_record(app.tables[TABLE][b"order-1"])
    assert marker == Notified(changed_at=T0, notice_id=notice.event_id)
    # a refund arriving after the notice changes nothing
    await put(agent, payment_refunded("order-1", at=T0, amount="30.00"), "order-1")
    assert load_record(app.tables[TABLE][b"order-1"]) == marker


async def test_a_failing_sender_records_nothing_so_a_retry_can_notify(
    app: faust.App, published: RecordingPublisher
) -> None:
    class Down:
        channel = "email"

        async def send(self, notice: NotificationSent) -> None:
            raise ConnectionRefusedError("smtp down")

    settings = NotificationSettings(
        platform=PlatformSettings(kafka_bootstrap_servers="127.0.0.1:1")
    )
    down = create_app(
        settings, sender=Down(), publish=published, clock=lambda: T0, route_failures=False
    )
    async with down.agents[AGENT].test_context() as agent:
        assert (
            await put(agent, order_completed("order-1", at=T0, amount="30.00"), "order-1")
            is Disposition.FAILED
        )
    assert published == []
    assert b"order-1" not in down.tables[TABLE]


async def test_finished_entries_are_forgotten_after_the_retention(
    agent: faust.types.AgentTestWrapperT, app: faust.App, clock: Clock, sender: MemorySender
) -> None:
    table = app.tables[TABLE]
    # entries are forgotten while an event of their own partition is processed
    [later] = neighbours("order-1", 1)
    await put(agent, order_completed("order-1", at=T0, amount="30.00"), "order-1")
    clock.now = T0 + timedelta(hours=1, seconds=1)
    await put(agent, order_completed(later, at=clock.now, amount="30.00"), later)
    assert sorted(table) == [later.encode()]
    # the forgotten order's outcome, redelivered after the retention: stale, no notice
    await put(agent, order_completed("order-1", at=T0, amount="30.00"), "order-1")
    assert [n.order_id for n in sender.sent] == ["order-1", later]
