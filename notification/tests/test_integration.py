"""The notification worker against a real Kafka broker: one notice per outcome, told right.

Runs against the real broker of the ``stack_env`` fixture, with its own consumer group
(so its own table changelog) and its own order ids.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts import (
    Event,
    NotificationSent,
    OrderCancelled,
    OrderCompleted,
    PaymentAuthorized,
    PaymentRefunded,
    decode,
    derived_id,
    encode,
    key_of,
)
from contracts.topics import NOTIFICATIONS, OUTCOMES, PAYMENTS, TopicSpec
from kafka_admin.client import new_admin
from kafka_admin.topics import ensure_topics_async
from tests.support import WorkerProcess, eventually_async, worker_env

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PARTITIONS = int(os.environ.get("TOPIC_PARTITIONS", "") or OUTCOMES.partitions)
DEADLINE = 90.0
INPUTS = (OUTCOMES, PAYMENTS)


eventually = partial(eventually_async, timeout=DEADLINE)


class Kafka:
    """A producer of the worker's inputs, a reader of ``notifications.v1``, the group's commits."""

    def __init__(self, bootstrap: str, group: str) -> None:
        self.bootstrap = bootstrap
        self.group = group
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        self.reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.admin = new_admin(bootstrap)
        self.notices: list[NotificationSent] = []

    async def __aenter__(self) -> Kafka:
        await ensure_topics_async(self.bootstrap, [*INPUTS, NOTIFICATIONS], PARTITIONS)
        await self.producer.start()
        await self.reader.start()
        await self.admin.start()
        tps = [TopicPartition(NOTIFICATIONS.name, p) for p in range(PARTITIONS)]
        self.reader.assign(tps)
        await self.reader.seek_to_end(*tps)
        for tp in tps:
            await self.reader.position(tp)
        # the new group starts at the end of its inputs: only this test's events count
        starter = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=self.group, enable_auto_commit=False
        )
        await starter.start()
        try:
            inputs = [TopicPartition(t.name, p) for t in INPUTS for p in range(PARTITIONS)]
            starter.assign(inputs)
            await starter.commit(await starter.end_offsets(inputs))
        finally:
            await starter.stop()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()
        await self.reader.stop()
        await self.admin.close()

    async def send(self, topic: TopicSpec, event: Event) -> tuple[int, int]:
        meta = await self.producer.send_and_wait(topic.name, encode(event), key=key_of(event))
        return meta.partition, meta.offset

    async def processed(self, topic: TopicSpec, sent: tuple[int, int]) -> bool:
        tp = TopicPartition(topic.name, sent[0])
        offsets = await self.admin.list_consumer_group_offsets(self.group, partitions=[tp])
        meta = offsets.get(tp)
        return meta is not None and meta.offset > sent[1]

    async def notices_for(self, order_id: str) -> list[NotificationSent]:
        """Every notice of ``order_id`` read so far from ``notifications.v1``."""
        for records in (await self.reader.getmany(timeout_ms=100)).values():
            for record in records:
                event = decode(record.value)
                assert isinstance(event, NotificationSent)
                self.notices.append(event)
        return [n for n in self.notices if n.order_id == order_id]

    async def all_notices_for(self, order_id: str) -> list[NotificationSent]:
        """Every notice of ``order_id`` up to the current end of ``notifications.v1``."""
        tps = [TopicPartition(NOTIFICATIONS.name, p) for p in range(PARTITIONS)]
        ends = await self.reader.end_offsets(tps)
        while [tp for tp, end in ends.items() if await self.reader.position(tp) < end]:
            await self.notices_for(order_id)
        return await self.notices_for(order_id)


@pytest.fixture
def worker(stack_env: dict[str, str], tmp_path: Path) -> Iterator[WorkerProcess]:
    env = worker_env(
        stack_env["KAFKA_BOOTSTRAP_SERVERS"],
        NOTIFICATION_GROUP=f"notification-it-{uuid.uuid4().hex[:8]}",
        NOTIFICATION_SENDER="console",
    )
    w = WorkerProcess("notification", tmp_path, env, name="worker")
    w.start()
    yield w


@pytest.fixture
async def kafka(stack_env: dict[str, str], worker: WorkerProcess) -> AsyncIterator[Kafka]:
    async with Kafka(stack_env["KAFKA_BOOTSTRAP_SERVERS"], worker.env["NOTIFICATION_GROUP"]) as k:
        yield k
    worker.kill()


def new_order() -> str:
    return f"it-{uuid.uuid4().hex[:12]}"


async def test_one_notice_per_outcome_naming_the_reason_and_the_refund(
    worker: WorkerProcess, kafka: Kafka
) -> None:
    cancelled_id, completed_id = new_order(), new_order()
    common = {"user_id": "user-it", "amount": Decimal("30.00"), "currency": "EUR"}

    # the payment facts of the order to cancel, then its cancellation, produced twice
    await kafka.send(
        PAYMENTS, PaymentAuthorized(order_id=cancelled_id, correlation_id=cancelled_id, **common)
    )
    sent = await kafka.send(
        PAYMENTS,
        PaymentRefunded(
            order_id=cancelled_id, correlation_id=cancelled_id, reason="out_of_stock", **common
        ),
    )
    await eventually("the refund's commit", lambda: kafka.processed(PAYMENTS, sent), worker)
    cancel = OrderCancelled(
        order_id=cancelled_id,
        correlation_id=cancelled_id,
        user_id="user-it",
        reason="out_of_stock",
        detail="p-1: 0 of 2 in stock",
    )
    done = OrderCompleted(order_id=completed_id, correlation_id=completed_id, **common)
    for outcome in (cancel, cancel, done, done):
        at = await kafka.send(OUTCOMES, outcome)
        await eventually(
            "the outcome's commit", lambda at=at: kafka.processed(OUTCOMES, at), worker
        )

    [told] = await kafka.all_notices_for(cancelled_id)
    assert told.event_id == derived_id(cancel, NotificationSent.wire_type())
    assert (told.outcome, told.channel, told.user_id) == ("cancelled", "console", "user-it")
    assert told.subject == f"Order {cancelled_id} cancelled"
    assert "because some items are out of stock" in told.body
    assert "Details: p-1: 0 of 2 in stock" in told.body
    assert told.body.endswith("We have refunded 30.00 EUR.")

    [confirmed] = await kafka.all_notices_for(completed_id)
    assert confirmed.event_id == derived_id(done, NotificationSent.wire_type())
    assert confirmed.subject == f"Order {completed_id} confirmed"
    assert "We charged 30.00 EUR." in confirmed.body

    # the console shows each notice once
    output = worker.output()
    for order_id in (cancelled_id, completed_id):
        assert output.count(f"=== notification to user-it (order {order_id},") == 1
