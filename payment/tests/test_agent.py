"""The payment agent's wiring, run through Faust's ``agent.test_context()`` (no broker)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal

import faust
import pytest

from config.env import PlatformSettings
from contracts import (
    ContractError,
    Event,
    PageViewed,
    PaymentAuthorized,
    PaymentDeclined,
    PaymentRefunded,
    decode,
    encode,
    key_of,
)
from contracts.testing import T0, RecordingPublisher, order_cancelled, order_completed, order_placed
from payment.agent import AGENT, LEDGER
from payment.app import create_app
from payment.domain import decision_of, load_record
from payment.settings import PaymentSettings
from streaming import Disposition
from streaming.expiry import default_partition

PARTITIONS = PlatformSettings().topic_partitions


class Clock:
    """A settable wall clock for the agent."""

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
def sent() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(sent: RecordingPublisher, clock: Clock) -> faust.App:
    settings = PaymentSettings(
        platform=PlatformSettings(kafka_bootstrap_servers="127.0.0.1:1"),
        retention_settled=timedelta(minutes=10),
        retention_pending=timedelta(days=1),
    )
    return create_app(settings, publish=sent, clock=clock, route_failures=False)


@pytest.fixture
async def agent(app: faust.App) -> AsyncIterator[faust.types.AgentTestWrapperT]:
    async with app.agents[AGENT].test_context() as agent:
        yield agent


def key_for(value: bytes | None) -> bytes:
    """The key a record of ``value`` carries: its order id (``contracts.key_of``) when it
    is a valid event, any key otherwise."""
    try:
        return key_of(decode(value or b""))
    except ContractError:
        return b"k"


async def put(
    agent: faust.types.AgentTestWrapperT, value: bytes | None, key: bytes | None = None
) -> Disposition:
    key = key_for(value) if key is None else key
    partition = default_partition(key, PARTITIONS)
    event = await agent.put(value, key=key, partition=partition)
    outcome = agent.results[event.message.offset]
    assert isinstance(outcome, Disposition)
    return outcome


async def test_an_order_is_decided_published_and_recorded(
    agent: faust.types.AgentTestWrapperT, app: faust.App, sent: RecordingPublisher
) -> None:
    order = order_placed(at=T0)
    assert await put(agent, encode(order), key=b"order-1") is Disposition.HANDLED
    [decision] = sent
    assert isinstance(decision, PaymentAuthorized)
    assert decision.causation_id == str(order.event_id)
    record = load_record(app.tables[LEDGER][b"order-1"])
    assert record.charge is not None
    assert decision_of(record.charge, "order-1") == decision


async def test_a_cancellation_refunds_once_even_when_redelivered(
    agent: faust.types.AgentTestWrapperT, app: faust.App, sent: RecordingPublisher
) -> None:
    await put(agent, encode(order_placed(at=T0)), key=b"order-1")
    cancel = encode(order_cancelled(at=T0))
    assert await put(agent, cancel, key=b"order-1") is Disposition.HANDLED
    assert await put(agent, cancel, key=b"order-1") is Disposition.HANDLED
    authorized, refund, again = sent
    assert isinstance(authorized, PaymentAuthorized)
    assert isinstance(refund, PaymentRefunded)
    assert (refund.amount, refund.reason) == (Decimal("10.00"), "timeout")
    assert encode(again) == encode(refund)
    assert load_record(app.tables[LEDGER][b"order-1"]).status == "refunded"


async def test_a_cancellation_before_the_order_authorizes_and_refunds_it_late(
    agent: faust.types.AgentTestWrapperT, sent: RecordingPublisher
) -> None:
    await put(agent, encode(order_cancelled(at=T0)), key=b"order-1")
    assert sent == []
    await put(agent, encode(order_placed(at=T0)), key=b"order-1")
    assert [type(e) for e in sent] == [PaymentAuthorized, PaymentRefunded]


async def test_settled_orders_are_forgotten_after_the_retention(
    agent: faust.types.AgentTestWrapperT, app: faust.App, clock: Clock, sent: RecordingPublisher
) -> None:
    ledger = app.tables[LEDGER]
    # entries are forgotten while an event of their own partition is processed
    pending, later = neighbours("order-1", 2)
    await put(agent, encode(order_placed(at=T0)), key=b"order-1")
    await put(agent, encode(order_completed("order-1", at=T0)), key=b"order-1")
    await put(
        agent, encode(order_placed(order_id=pending, at=T0)), key=pending.encode()
    )  # awaits its outcome
    clock.now = T0 + timedelta(minutes=10, seconds=1)
    await put(agent, encode(order_placed(order_id=later, at=clock.now)), key=later.encode())
    assert sorted(ledger) == sorted([pending.encode(), later.encode()])
    # a redelivery after the retention is stale: nothing is charged again
    sent.clear()
    assert await put(agent, encode(order_placed(at=T0)), key=b"order-1") is Disposition.HANDLED
    assert sent == []
    assert b"order-1" not in ledger


async def test_a_redelivery_publishes_the_identical_decision_and_decides_nothing_new(
    agent: faust.types.AgentTestWrapperT, app: faust.App, sent: RecordingPublisher
) -> None:
    data = encode(order_placed(amount="5000.01", at=T0))
    await put(agent, data)
    await put(agent, data)
    await put(agent, encode(order_placed(amount="1.00", at=T0)))  # republished with a new event id
    first, *again = sent
    assert isinstance(first, PaymentDeclined)
    assert again == [first, first]
    assert [encode(e) for e in again] == [encode(first)] * 2
    assert len(app.tables[LEDGER]) == 1


async def test_bad_and_foreign_messages_are_contained(
    agent: faust.types.AgentTestWrapperT, sent: RecordingPublisher
) -> None:
    assert await put(agent, b"not json") is Disposition.INVALID
    assert await put(agent, b'{"type": "order.placed.v1"}') is Disposition.INVALID
    # Keyed by another order: on the wrong partition for its own (co-partitioning).
    assert (
        await put(agent, encode(order_placed(order_id="order-3", at=T0)), key=b"order-4")
        is Disposition.INVALID
    )
    assert await put(agent, None) is Disposition.INVALID
    assert await put(agent, encode(PageViewed(correlation_id="c", page="/"))) is Disposition.SKIPPED
    # the agent is still alive and serving
    assert await put(agent, encode(order_placed(order_id="order-2", at=T0))) is Disposition.HANDLED
    assert [e.order_id for e in sent] == ["order-2"]  # type: ignore[attr-defined]


async def test_a_failing_handler_does_not_stop_the_agent(
    app: faust.App, sent: RecordingPublisher
) -> None:
    calls = 0

    async def flaky(event: Event) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("broker away")
        await sent(event)

    settings = PaymentSettings(platform=PlatformSettings(kafka_bootstrap_servers="127.0.0.1:1"))
    flaky_app = create_app(settings, publish=flaky, clock=lambda: T0, route_failures=False)
    async with flaky_app.agents[AGENT].test_context() as agent:
        assert await put(agent, encode(order_placed(at=T0))) is Disposition.FAILED
        assert (
            await put(agent, encode(order_placed(order_id="order-2", at=T0))) is Disposition.HANDLED
        )
    assert [e.order_id for e in sent] == ["order-2"]  # type: ignore[attr-defined]
