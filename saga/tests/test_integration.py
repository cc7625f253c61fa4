"""The saga worker against a real Kafka broker: outcomes, deadlines, late events, duplicates.

One ``python -m saga worker`` for the module, with a 3 s deadline and a consumer group
of its own that starts at the end of its input topics; the test plays the gateway,
payment and inventory by producing their events directly. So no other platform may
answer orders on the same broker meanwhile (``make test`` starts a stack of its own).
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.partitioner import murmur2

from contracts import (
    Event,
    OrderCancelled,
    OrderCompleted,
    OrderPlaced,
    decode,
    encode,
    key_of,
)
from contracts.routing import TOPIC_OF
from contracts.testing import (
    inventory_rejected,
    inventory_reserved,
    new_order_id,
    order_placed,
    payment_authorized,
    payment_declined,
)
from contracts.topics import INVENTORY, ORDERS, OUTCOMES, PAYMENTS, SAGA_TICKS
from kafka_admin.client import new_admin
from kafka_admin.topics import ensure_topics
from saga.domain import outcome_id
from tests.support import WorkerProcess, eventually_async, worker_env

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PARTITIONS = int(os.environ.get("TOPIC_PARTITIONS", "") or ORDERS.partitions)
INPUTS = (ORDERS, PAYMENTS, INVENTORY, SAGA_TICKS)
DEADLINE_S = 3.0
#: How long to wait for anything (the worker's start, a commit) before failing.
WAIT_S = 60.0

T = TypeVar("T")


@pytest.fixture(scope="module")
def bootstrap(stack_env: dict[str, str]) -> str:
    servers = stack_env["KAFKA_BOOTSTRAP_SERVERS"]
    ensure_topics(servers, [*INPUTS, OUTCOMES], PARTITIONS)
    return servers


def partition_of(order_id: str) -> int:
    return (murmur2(order_id.encode()) & 0x7FFFFFFF) % PARTITIONS


class SagaWorker(WorkerProcess):
    """The saga worker of this module's tests."""

    def __init__(self, service: str, tmp: Path, env: dict[str, str]) -> None:
        super().__init__(service, tmp, env)
        self.group = env["SAGA_GROUP"]
        #: Whether it has decided an order and timed one out already.
        self.ready = False


async def start_group_at_end(bootstrap: str, group: str) -> None:
    """Commit the end of every input for the new ``group``: its worker skips the backlog
    (other tests' and other stacks' orders, and hours of ticks)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(spec.name, p) for spec in INPUTS for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.commit(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


@pytest.fixture(scope="module")
def worker(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SagaWorker]:
    group = f"saga-it-{uuid.uuid4().hex[:8]}"
    asyncio.run(start_group_at_end(bootstrap, group))
    env = worker_env(bootstrap, SAGA_GROUP=group, SAGA_DEADLINE_SECONDS=str(DEADLINE_S))
    w = SagaWorker("saga", tmp_path_factory.mktemp("saga"), env)
    w.start()
    try:
        yield w
    finally:
        w.stop()


class Kafka:
    """A producer of the saga's inputs, a reader of ``orders.outcome.v1``, the group's commits."""

    def __init__(self, bootstrap: str, worker: SagaWorker) -> None:
        self.worker = worker
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        self.reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.admin = new_admin(bootstrap)
        self.outcomes: list[ConsumerRecord[bytes, bytes]] = []
        self.tps = [TopicPartition(OUTCOMES.name, p) for p in range(PARTITIONS)]

    async def __aenter__(self) -> Kafka:
        await self.producer.start()
        await self.reader.start()
        await self.admin.start()
        self.reader.assign(self.tps)
        await self.reader.seek_to_end(*self.tps)  # only what this test makes the saga emit
        for tp in self.tps:
            await self.reader.position(tp)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()
        await self.reader.stop()
        await self.admin.close()

    async def send(self, *events: Event) -> list[tuple[TopicPartition, int]]:
        """Produce events to their topics; where each landed."""
        landed = []
        for event in events:
            topic = TOPIC_OF[type(event)].name
            meta = await self.producer.send_and_wait(topic, encode(event), key=key_of(event))
            landed.append((TopicPartition(topic, meta.partition), meta.offset))
        return landed

    async def outcomes_for(self, order_id: str) -> list[ConsumerRecord[bytes, bytes]]:
        """Every ``orders.outcome.v1`` record of ``order_id`` read so far."""
        batches = await self.reader.getmany(timeout_ms=50)
        for records in batches.values():
            self.outcomes.extend(records)
        return [r for r in self.outcomes if r.key == order_id.encode()]

    async def all_outcomes_for(self, order_id: str) -> list[ConsumerRecord[bytes, bytes]]:
        """Every record of ``order_id`` up to the current end of ``orders.outcome.v1``."""
        ends = await self.reader.end_offsets(self.tps)

        async def read_to_end() -> bool:
            await self.outcomes_for(order_id)
            return all([await self.reader.position(tp) >= end for tp, end in ends.items()])

        await eventually_async(
            f"{OUTCOMES.name} read to its end",
            read_to_end,
            self.worker,
            timeout=WAIT_S,
            interval=0.02,
        )
        return await self.outcomes_for(order_id)

    async def processed(self, landed: list[tuple[TopicPartition, int]]) -> None:
        """Wait until the saga's group has committed past every one of ``landed``."""

        async def committed() -> bool:
            offsets = await self.admin.list_consumer_group_offsets(
                self.worker.group, partitions=[tp for tp, _ in landed]
            )
            return all(
                (meta := offsets.get(tp)) is not None and meta.offset > offset
                for tp, offset in landed
            )

        await eventually_async(
            "the saga's offset commits", committed, self.worker, timeout=WAIT_S, interval=0.02
        )

    async def outcome(self, order_id: str) -> tuple[Event, ConsumerRecord[bytes, bytes]]:
        """Wait for the first outcome of ``order_id``."""
        [record, *_] = await eventually_async(
            f"the outcome of {order_id}",
            lambda: self.outcomes_for(order_id),
            self.worker,
            timeout=WAIT_S,
            interval=0.02,
        )
        return decode(record.value), record


@pytest.fixture
async def kafka(bootstrap: str, worker: SagaWorker) -> AsyncIterator[Kafka]:
    async with Kafka(bootstrap, worker) as k:
        if not worker.ready:
            await warm_up(k)
            worker.ready = True
        yield k


async def warm_up(kafka: Kafka) -> None:
    """Wait until the worker decides, and ticks its partitions: a timeout comes through."""
    probe = placed(at=datetime.now(UTC) - timedelta(seconds=DEADLINE_S))
    await kafka.send(probe)
    event, _ = await kafka.outcome(probe.order_id)
    assert isinstance(event, OrderCancelled)
    assert event.reason == "timeout"


def placed(at: datetime | None = None) -> OrderPlaced:
    """An order of this test run (a fresh id), occurred at ``at`` (default now)."""
    oid = new_order_id("it")
    return order_placed(("p-1", 2, "6.00"), order_id=oid, user_id="user-it", at=at)


def the_one_outcome(records: list[ConsumerRecord[bytes, bytes]], order_id: str) -> Any:
    """Check the records are copies of one outcome of ``order_id``; that outcome."""
    events = [decode(r.value) for r in records]
    assert len({e.event_id for e in events}) == 1, events
    assert len({r.value for r in records}) == 1  # re-emissions are byte-identical
    assert {(r.key, r.partition) for r in records} == {(order_id.encode(), partition_of(order_id))}
    return events[0]


# -- outcomes ---------------------------------------------------------------------------


async def test_both_answers_positive_complete_the_order(kafka: Kafka) -> None:
    order = placed()
    await kafka.send(order, payment_authorized(order), inventory_reserved(order))
    event, _ = await kafka.outcome(order.order_id)
    assert isinstance(event, OrderCompleted)
    assert event.event_id == outcome_id(order.order_id, OrderCompleted)
    assert (event.user_id, event.amount, event.currency) == ("user-it", Decimal("12.00"), "EUR")
    assert event.correlation_id == order.order_id


async def test_a_payment_decline_cancels_the_order(kafka: Kafka) -> None:
    order = placed()
    await kafka.send(order, inventory_reserved(order), payment_declined(order))
    event, _ = await kafka.outcome(order.order_id)
    assert isinstance(event, OrderCancelled)
    assert (event.reason, event.detail) == ("payment_declined", "credit_limit_exceeded")


async def test_an_inventory_rejection_cancels_the_order_out_of_stock(kafka: Kafka) -> None:
    order = placed()
    await kafka.send(order, inventory_rejected(order, ("p-1", 2, 1)), payment_authorized(order))
    event, _ = await kafka.outcome(order.order_id)
    assert isinstance(event, OrderCancelled)
    assert (event.reason, event.detail) == ("out_of_stock", "p-1: requested 2, available 1")


async def test_answers_before_the_order_event_complete_it(kafka: Kafka) -> None:
    order = placed()
    await kafka.send(payment_authorized(order), inventory_reserved(order))
    event, _ = await kafka.outcome(order.order_id)
    assert isinstance(event, OrderCompleted)
    landed = await kafka.send(order)  # the OrderPlaced, late: nothing new
    await kafka.processed(landed)
    assert the_one_outcome(await kafka.all_outcomes_for(order.order_id), order.order_id) == event


# -- the deadline -----------------------------------------------------------------------


async def test_a_missing_answer_times_out_within_a_second_of_the_deadline(kafka: Kafka) -> None:
    orders = [placed() for _ in range(5)]
    for order in orders:
        await kafka.send(order, payment_authorized(order))  # inventory never answers
    lateness = []
    for order in orders:
        event, record = await kafka.outcome(order.order_id)
        assert isinstance(event, OrderCancelled)
        assert (event.reason, event.detail) == (
            "timeout",
            "no answer from inventory by the deadline",
        )
        # record.timestamp: when the worker produced the outcome (CreateTime, ms)
        sent_after = record.timestamp / 1000 - order.occurred_at.timestamp()
        assert event.occurred_at - order.occurred_at >= timedelta(seconds=DEADLINE_S)
        lateness.append(sent_after - DEADLINE_S)
    print(f"\ntimeouts sent {min(lateness):.3f}..{max(lateness):.3f} s after the deadline")
    assert all(0 <= late <= 1.0 for late in lateness), lateness


async def test_a_late_answer_after_the_timeout_changes_nothing(kafka: Kafka) -> None:
    order = placed()
    await kafka.send(order)
    cancelled, _ = await kafka.outcome(order.order_id)
    assert isinstance(cancelled, OrderCancelled)
    assert cancelled.reason == "timeout"
    landed = await kafka.send(payment_authorized(order), inventory_reserved(order))
    await kafka.processed(landed)
    records = await kafka.all_outcomes_for(order.order_id)
    assert the_one_outcome(records, order.order_id) == cancelled
    assert len(records) == 1


async def test_a_late_order_is_decided_by_its_answers_or_times_out_from_when_seen(
    kafka: Kafka,
) -> None:
    """Issue 12 finding 5: an OrderPlaced delayed 60 s by an outage completes with its
    answers; one 700 s late that nobody answers (the participants ignore it as stale) is
    cancelled as a timeout, not left pending."""
    delayed = placed(at=datetime.now(UTC) - timedelta(seconds=60))
    await kafka.send(delayed)
    # a few ticks (0.5 s apart) but less than the deadline (3 s) after the saga saw it:
    # counted from occurred_at it would be cancelled by now
    await asyncio.sleep(DEADLINE_S / 2)
    await kafka.send(payment_authorized(delayed), inventory_reserved(delayed))
    event, _ = await kafka.outcome(delayed.order_id)
    assert isinstance(event, OrderCompleted)

    late = placed(at=datetime.now(UTC) - timedelta(seconds=700))
    await kafka.send(late)
    event, _ = await kafka.outcome(late.order_id)
    assert isinstance(event, OrderCancelled)
    assert (event.reason, event.detail) == (
        "timeout",
        "no answer from payment and inventory by the deadline",
    )
    assert event.occurred_at - late.occurred_at >= timedelta(seconds=700)


# -- at least once ----------------------------------------------------------------------


async def test_duplicates_emit_no_second_outcome(kafka: Kafka) -> None:
    order = placed()
    pay, inv = payment_authorized(order), inventory_reserved(order)
    await kafka.send(order, pay, order)
    await kafka.send(inv)
    event, _ = await kafka.outcome(order.order_id)
    assert isinstance(event, OrderCompleted)
    # every event again: the order event and the first answer change nothing; the
    # deciding event re-emits the identical outcome (a crash may have lost it)
    landed = await kafka.send(order, pay, inv, pay)
    await kafka.processed(landed)
    records = await kafka.all_outcomes_for(order.order_id)
    assert the_one_outcome(records, order.order_id) == event
    # the first send, and one re-emission per redelivery of the deciding answer
    redelivered = sum(str(e.event_id) == event.causation_id for e in (order, pay, inv, pay))
    assert redelivered >= 1
    assert len(records) == 1 + redelivered


# -- a crash --------------------------------------------------------------------------


async def test_undecided_and_decided_orders_survive_a_kill(
    kafka: Kafka, worker: SagaWorker
) -> None:
    """kill -9: the table comes back from its changelog, the due index from the table."""
    done = placed()
    await kafka.send(done, payment_authorized(done), inventory_reserved(done))
    completed, _ = await kafka.outcome(done.order_id)
    # still undecided when the worker dies: its deadline is 10 s away
    waiting = placed(at=datetime.now(UTC) + timedelta(seconds=10 - DEADLINE_S))
    landed = await kafka.send(waiting, payment_authorized(waiting))
    await kafka.processed(landed)  # its state is in the changelog (flushed before the commit)
    assert await kafka.outcomes_for(waiting.order_id) == []
    worker.stop(signal.SIGKILL)

    worker.start()
    cancelled, _ = await kafka.outcome(waiting.order_id)
    assert isinstance(cancelled, OrderCancelled)
    assert (cancelled.reason, cancelled.detail) == (
        "timeout",
        "no answer from inventory by the deadline",
    )
    # the completed order is still remembered: a late, contradicting answer changes nothing
    landed = await kafka.send(payment_declined(done))
    await kafka.processed(landed)
    assert the_one_outcome(await kafka.all_outcomes_for(done.order_id), done.order_id) == completed
