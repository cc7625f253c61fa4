"""The running projector, on the real broker and database: a record the database cannot
hold is dead-lettered by the projector, the rest of its batch is projected, its offsets
are committed, and the projector goes on."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from asgiref.sync import sync_to_async
from django.db import connection, connections

import contracts
from contracts import StockLevel, topics
from gateway.catalog.models import Product
from gateway.operations.models import DeadLetterRecord
from gateway.projector import projector
from gateway.projector.broadcast import Broadcaster

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

#: A value a producer that bypassed the contract could send: the projector's decode is
#: told to read it as this level, whose name no ``varchar(200)`` holds (on SQLite, whose
#: text has no length, a stock count beyond a 64-bit integer).
BYPASS = b"bypassed-the-contract"


class Pushes(Broadcaster):
    def __init__(self) -> None:
        self.batches: list[list[Any]] = []

    async def publish(self, events: list[Any]) -> None:
        self.batches.append(events)


def level(product_id: str, **kw: Any) -> StockLevel:
    fields: dict[str, Any] = {"name": "Thing", "price": Decimal("1.00"), "available": 5,
                              "reserved": 0, "sold": 0, **kw}  # fmt: skip
    return StockLevel(
        correlation_id=product_id, occurred_at=datetime.now(UTC), product_id=product_id, **fields
    )


async def eventually(check: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await sync_to_async(check)()
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


def test_a_record_the_database_cannot_hold_is_dead_lettered_and_the_rest_projected(
    stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bootstrap = stack_env["KAFKA_BOOTSTRAP_SERVERS"].split(",")
    group = f"projector-test-{uuid.uuid4().hex[:8]}"
    run = uuid.uuid4().hex[:8]
    good = [level(f"q-{run}-a"), level(f"q-{run}-b")]
    bad = (
        level(f"q-{run}-bad", name="n" * 300)
        if connection.vendor == "postgresql"
        else level(f"q-{run}-bad", sold=2**70)
    )
    real_decode = contracts.decode
    monkeypatch.setattr(
        contracts, "decode", lambda data: bad if bytes(data) == BYPASS else real_decode(data)
    )
    topic = topics.STOCK.name

    async def scenario() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            # one partition, so the three records come in one batch, the bad one between
            sent = []
            for value, key in [
                (contracts.encode(good[0]), good[0].product_id),
                (BYPASS, bad.product_id),
                (contracts.encode(good[1]), good[1].product_id),
            ]:
                sent.append(
                    await producer.send_and_wait(topic, value, key=key.encode(), partition=0)
                )
        finally:
            await producer.stop()
        offsets = [m.offset for m in sent]

        stop = asyncio.Event()
        pushes = Pushes()
        consumer_task = asyncio.create_task(
            projector.run(bootstrap, stop, group=group, broadcaster=pushes)
        )
        try:
            await eventually(
                lambda: (
                    Product.objects.filter(product_id__in=[g.product_id for g in good]).count() == 2
                ),
                "the good levels projected",
            )
            row = await eventually(
                lambda: DeadLetterRecord.objects.filter(
                    consumer_group=group, original_topic=topic, original_offset=offsets[1]
                ).first(),
                "the projector's dead letter of the bad record",
                timeout=90,
            )
            assert row.attempts == 1
            # The contract's bounds are the columns' (test_bounds), so its decoder refuses
            # the record first; the database's own refusal is proven in test_isolation.
            assert row.error_type in {
                "contracts.codec.ContractError",
                "django.db.utils.DataError",
                "OverflowError",
            }
            letter = contracts.decode(bytes(row.raw))
            assert isinstance(letter, contracts.DeadLetter) and letter.value == BYPASS
            assert not await sync_to_async(
                Product.objects.filter(product_id=bad.product_id).exists
            )()
            # the projector went on past the bad record: its offsets are committed
            probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
            await probe.start()
            try:
                tp = TopicPartition(topic, 0)
                deadline = asyncio.get_running_loop().time() + 30
                while (await probe.committed(tp) or 0) <= offsets[2]:
                    assert asyncio.get_running_loop().time() < deadline, "offsets not committed"
                    await asyncio.sleep(0.2)
            finally:
                await probe.stop()
            assert any(
                getattr(e, "product_id", None) == good[1].product_id
                for batch in pushes.batches
                for e in batch
            )
        finally:
            stop.set()
            await asyncio.wait_for(consumer_task, 30)
            await sync_to_async(connections.close_all)()  # the projector's thread's

    asyncio.run(scenario())
    # one dead letter for the bad record, however often the batch was written
    assert DeadLetterRecord.objects.filter(consumer_group=group, original_topic=topic).count() == 1
