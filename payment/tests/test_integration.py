"""The payment worker against a real Kafka broker: decide once, refund once, across redeliveries.

Runs against the real broker of the ``stack_env`` fixture. Each run
uses its own consumer group (so its own ledger changelog) and its own order ids.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.partitioner import murmur2

from contracts import (
    OrderPlaced,
    PaymentAuthorized,
    PaymentDeclined,
    PaymentRefunded,
    decode,
    derived_id,
    encode,
)
from contracts.testing import new_order_id, order_cancelled, order_placed
from contracts.topics import ORDERS, OUTCOMES, PAYMENTS, TopicSpec
from kafka_admin.client import new_admin
from kafka_admin.topics import ensure_topics_async
from payment.domain import BLOCKED, net_charge
from tests.support import WorkerProcess, eventually_async, worker_env

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PARTITIONS = int(os.environ.get("TOPIC_PARTITIONS", "") or ORDERS.partitions)
#: Generous: a restarted worker waits for the killed one's session (10 s) to expire.
DEADLINE = 90.0


@pytest.fixture(scope="module")
def bootstrap(stack_env: dict[str, str]) -> str:
    return stack_env["KAFKA_BOOTSTRAP_SERVERS"]


async def ensure_topics(bootstrap: str, specs: list[TopicSpec]) -> None:
    """Create the topics the worker reads and writes."""
    await ensure_topics_async(bootstrap, specs, PARTITIONS)


@pytest.fixture
def worker(bootstrap: str, tmp_path: Path) -> Iterator[WorkerProcess]:
    env = worker_env(
        bootstrap, PAYMENT_GROUP=f"payment-it-{uuid.uuid4().hex[:8]}", PAYMENT_BLOCKED_USERS=""
    )
    w = WorkerProcess("payment", tmp_path, env, name="worker")
    yield w
    w.kill()


eventually = partial(eventually_async, timeout=DEADLINE)


class Kafka:
    """A producer to ``orders.v1``, a reader of ``payments.v1`` and the group's commits."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        self.reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.admin = new_admin(bootstrap)
        self.payments: list[ConsumerRecord[bytes, bytes]] = []

    async def __aenter__(self) -> Kafka:
        await self.producer.start()
        await self.reader.start()
        await self.admin.start()
        tps = [TopicPartition(PAYMENTS.name, p) for p in range(PARTITIONS)]
        self.reader.assign(tps)
        await self.reader.seek_to_end(*tps)  # only what this test makes the worker emit
        for tp in tps:
            await self.reader.position(tp)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()
        await self.reader.stop()
        await self.admin.close()

    async def place(self, data: bytes, key: bytes) -> tuple[int, int]:
        """Send an ``OrderPlaced``; its (partition, offset) on ``orders.v1``."""
        return await self.send(ORDERS, data, key)

    async def send(self, topic: TopicSpec, data: bytes, key: bytes) -> tuple[int, int]:
        """Send one message to ``topic``; its (partition, offset)."""
        meta = await self.producer.send_and_wait(topic.name, value=data, key=key)
        return meta.partition, meta.offset

    async def payments_for(self, order_id: str) -> list[ConsumerRecord[bytes, bytes]]:
        """Every ``payments.v1`` record of ``order_id`` read so far."""
        batches = await self.reader.getmany(timeout_ms=100)
        for records in batches.values():
            self.payments.extend(records)
        return [r for r in self.payments if r.key == order_id.encode()]

    async def all_payments_for(self, order_id: str) -> list[ConsumerRecord[bytes, bytes]]:
        """Every ``payments.v1`` record of ``order_id`` up to the current end of the topic."""
        tps = [TopicPartition(PAYMENTS.name, p) for p in range(PARTITIONS)]
        ends = await self.reader.end_offsets(tps)

        async def at_end() -> bool:
            if [tp for tp, end in ends.items() if await self.reader.position(tp) < end]:
                await self.payments_for(order_id)
                return False
            return True

        await eventually_async(
            f"{PAYMENTS.name} read to its end {ends}", at_end, timeout=DEADLINE, interval=0
        )
        return await self.payments_for(order_id)

    async def start_group_at_end(self, group: str) -> None:
        """Commit the end of the inputs for the new ``group``: its worker skips the backlog.

        (Rather than ``auto_offset_reset=latest``, which would race with the first order.)
        """
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            tps = [TopicPartition(t.name, p) for t in (ORDERS, OUTCOMES) for p in range(PARTITIONS)]
            consumer.assign(tps)
            await consumer.commit(await consumer.end_offsets(tps))
        finally:
            await consumer.stop()

    async def committed(self, group: str, partition: int, topic: TopicSpec = ORDERS) -> int:
        tp = TopicPartition(topic.name, partition)
        offsets = await self.admin.list_consumer_group_offsets(group, partitions=[tp])
        meta = offsets.get(tp)
        return -1 if meta is None else meta.offset


@pytest.fixture
async def kafka(bootstrap: str) -> AsyncIterator[Kafka]:
    await ensure_topics(bootstrap, [ORDERS, OUTCOMES, PAYMENTS])
    async with Kafka(bootstrap) as k:
        yield k


def placed(user: str, amount: str = "12.34") -> OrderPlaced:
    """An order of this test run (a fresh id) of two units of ``p-1``."""
    line = ("p-1", 2, Decimal(amount) / 2)
    return order_placed(line, order_id=new_order_id("it"), user_id=user, amount=amount)


def one_charge(records: list[ConsumerRecord[bytes, bytes]], order: OrderPlaced) -> int:
    """Check every record is the one authorization of ``order``; how many byte-identical copies.

    Another payment group on the same broker (an e2e stack, say) may decide the same
    order too: it emits the same event id (derived from the order event) with its own
    ``occurred_at``. So "charged once" is one event id, always authorized, on the
    order's partition; and the worker under test shows it replays its recorded event
    (rather than deciding again) by emitting byte-identical copies of it.
    """
    key = order.order_id.encode()
    partition = (murmur2(key) & 0x7FFFFFFF) % PARTITIONS
    events = [decode(r.value) for r in records]
    assert {type(e) for e in events} == {PaymentAuthorized}
    assert {e.event_id for e in events} == {derived_id(order, PaymentAuthorized.wire_type())}
    assert {(r.key, r.partition) for r in records} == {(key, partition)}
    assert all(e.causation_id == str(order.event_id) for e in events)
    return max(Counter(r.value for r in records).values())


async def test_an_order_is_charged_once_across_redeliveries_and_a_kill(
    worker: WorkerProcess, kafka: Kafka
) -> None:
    group = worker.env["PAYMENT_GROUP"]
    order = placed(user="user-it")
    data, key = encode(order), order.order_id.encode()

    async def processed(partition: int, offset: int) -> bool:
        return await kafka.committed(group, partition) > offset

    # 1. the order is authorized, keyed by its id, on the same partition as its input
    await kafka.start_group_at_end(group)
    worker.start()
    partition, offset = await kafka.place(data, key)
    assert partition == (murmur2(key) & 0x7FFFFFFF) % PARTITIONS
    records = await eventually(
        "PaymentAuthorized", lambda: kafka.payments_for(order.order_id), worker
    )
    one_charge(records, order)
    await eventually("the order's offset commit", lambda: processed(partition, offset), worker)

    # 2. the same bytes again: the recorded decision is re-emitted unchanged, no new charge
    _, offset = await kafka.place(data, key)
    await eventually("the redelivery's offset commit", lambda: processed(partition, offset), worker)
    assert one_charge(await kafka.all_payments_for(order.order_id), order) >= 2

    # 3. kill -9, then restart with rules that would now decline this customer: the
    #    ledger, restored from its changelog, still answers with the same authorization
    worker.stop(signal.SIGKILL)
    worker.start(PAYMENT_BLOCKED_USERS="user-it")
    _, offset = await kafka.place(data, key)
    await eventually("the post-restart offset commit", lambda: processed(partition, offset), worker)
    assert one_charge(await kafka.all_payments_for(order.order_id), order) >= 3

    # ...while a new order of the same customer is decided under the new rules
    other = placed(user="user-it")
    await kafka.place(encode(other), other.order_id.encode())

    async def declined() -> list[PaymentDeclined]:
        events = [decode(r.value) for r in await kafka.payments_for(other.order_id)]
        return [e for e in events if isinstance(e, PaymentDeclined)]

    [decision] = await eventually("PaymentDeclined", declined, worker)
    assert decision.reason == BLOCKED


async def test_cancelled_orders_are_refunded_once_even_late_or_redelivered(
    worker: WorkerProcess, kafka: Kafka
) -> None:
    group = worker.env["PAYMENT_GROUP"]
    await kafka.start_group_at_end(group)
    worker.start()

    async def processed(topic: TopicSpec, sent: tuple[int, int]) -> bool:
        partition, offset = sent
        return await kafka.committed(group, partition, topic) > offset

    def of_type(records: list[ConsumerRecord[bytes, bytes]], cls: type) -> list[Any]:
        return [e for e in (decode(r.value) for r in records) if isinstance(e, cls)]

    # 1. a cancellation after the authorization: one refund of the amount, with the reason
    order = placed(user="user-it", amount="30.00")
    await kafka.place(encode(order), order.order_id.encode())
    await eventually(
        "PaymentAuthorized",
        lambda: kafka.payments_for(order.order_id),
        worker,
    )
    cancel = order_cancelled(
        order.order_id, "out_of_stock", "p-1: 0 of 2 in stock", user_id=order.user_id
    )
    await kafka.send(OUTCOMES, encode(cancel), order.order_id.encode())

    async def refunded() -> list[PaymentRefunded]:
        return of_type(await kafka.payments_for(order.order_id), PaymentRefunded)

    [refund] = await eventually("PaymentRefunded", refunded, worker)
    assert (refund.amount, refund.reason) == (Decimal("30.00"), "out_of_stock")
    assert refund.event_id == derived_id(cancel, PaymentRefunded.wire_type())

    # 2. the cancellation redelivered: the same refund again at most, never a second one
    sent = await kafka.send(OUTCOMES, encode(cancel), order.order_id.encode())
    await eventually("the redelivery's commit", lambda: processed(OUTCOMES, sent), worker)
    records = await kafka.all_payments_for(order.order_id)
    assert {e.event_id for e in of_type(records, PaymentRefunded)} == {refund.event_id}
    assert len({e.event_id for e in of_type(records, PaymentAuthorized)}) == 1
    assert net_charge(decode(r.value) for r in records) == 0  # type: ignore[misc]

    # 3. the cancellation overtakes the order (payment was behind, the saga timed it
    #    out): the late order is authorized and refunded at once, net charge zero
    late = placed(user="user-it", amount="12.00")
    timeout = order_cancelled(
        late.order_id, "timeout", "p-1: 0 of 2 in stock", user_id=late.user_id
    )
    sent = await kafka.send(OUTCOMES, encode(timeout), late.order_id.encode())
    await eventually("the cancellation's commit", lambda: processed(OUTCOMES, sent), worker)
    assert await kafka.payments_for(late.order_id) == []
    await kafka.place(encode(late), late.order_id.encode())

    async def both() -> list[Any]:
        events = [decode(r.value) for r in await kafka.payments_for(late.order_id)]
        return events if len(events) >= 2 else []

    authorized, late_refund = await eventually("authorization and refund", both, worker)
    assert isinstance(authorized, PaymentAuthorized)
    assert isinstance(late_refund, PaymentRefunded)
    assert (late_refund.amount, late_refund.reason) == (Decimal("12.00"), "timeout")
    assert late_refund.causation_id == str(timeout.event_id)
    assert net_charge([authorized, late_refund]) == 0
