"""``python -m inventory worker`` against the real broker and Redis of ``stack_env``.

One worker process for the module, with its own consumer group, Redis key prefix and
stock topic (so the levels of its made-up products never reach the catalogue of another
platform on the same broker); each test seeds its own products and uses its own orders,
so the tests do not depend on each other. Also runs ``python -m inventory seed``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.partitioner import murmur2

from contracts import (
    Event,
    InventoryRejected,
    InventoryReleased,
    InventoryReserved,
    OrderCancelled,
    OrderCompleted,
    OrderPlaced,
    StockLevel,
    decode,
    derived_id,
    encode,
    reaction,
)
from contracts.testing import new_order_id, order_cancelled, order_placed
from contracts.topics import INVENTORY, ORDERS, OUTCOMES, STOCK, TopicSpec
from inventory.catalog import CATALOG, Product
from inventory.domain import Counters, violations
from inventory.store import RedisStore
from kafka_admin.client import new_admin
from kafka_admin.topics import delete_topics_async, ensure_topics_async
from tests.support import WorkerProcess, eventually_async, worker_env

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PARTITIONS = int(os.environ.get("TOPIC_PARTITIONS", "") or ORDERS.partitions)
DEADLINE = 90.0
TOPICS = [ORDERS, OUTCOMES, INVENTORY]


def partition_of(key: bytes) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % PARTITIONS


async def ensure_topics(bootstrap: str, specs: list[TopicSpec]) -> None:
    await ensure_topics_async(bootstrap, specs, PARTITIONS)


def stock_topic() -> TopicSpec:
    """A compacted stock topic of this run only."""
    return dataclasses.replace(STOCK, name=f"inventory.stock.it-{uuid.uuid4().hex[:8]}")


async def delete_topic(bootstrap: str, name: str) -> None:
    await delete_topics_async(bootstrap, [name])


def base_env(stack_env: dict[str, str], prefix: str, stock: TopicSpec) -> dict[str, str]:
    return worker_env(
        stack_env["KAFKA_BOOTSTRAP_SERVERS"],
        stack_env,
        INVENTORY_KEY_PREFIX=prefix,
        INVENTORY_STOCK_TOPIC=stock.name,
    )


async def start_group_at_end(bootstrap: str, group: str) -> None:
    """Commit the end of the input topics for the new ``group``: it skips their backlog."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(t.name, p) for t in (ORDERS, OUTCOMES) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.commit(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


@pytest.fixture(scope="module")
def worker(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    group = f"inventory-it-{uuid.uuid4().hex[:8]}"
    prefix = f"inventory:it-{uuid.uuid4().hex[:8]}:"
    bootstrap = stack_env["KAFKA_BOOTSTRAP_SERVERS"]
    stock = stock_topic()

    async def prepare() -> None:
        await ensure_topics(bootstrap, [*TOPICS, stock])
        await start_group_at_end(bootstrap, group)
        # A store with something in it: an empty one under a group with committed offsets
        # is refused at start (inventory.reconcile.check_start).
        seeded = RedisStore.from_url(stack_env["REDIS_URL"], prefix=prefix)
        await seeded.seed([Product(f"it-{group}", "Module", Decimal(1), 1)], mode="create")
        await seeded.close()

    asyncio.run(prepare())
    w = WorkerProcess(
        "inventory",
        tmp_path_factory.mktemp("inventory"),
        {**base_env(stack_env, prefix, stock), "INVENTORY_GROUP": group},
    )
    w.start()
    try:
        yield w
    finally:
        w.stop()
        store = RedisStore.from_url(stack_env["REDIS_URL"], prefix=prefix)

        async def clean() -> None:
            await store.reset()
            await store.close()
            await delete_topic(bootstrap, stock.name)

        asyncio.run(clean())


@pytest.fixture
async def store(worker: WorkerProcess) -> AsyncIterator[RedisStore]:
    s = RedisStore.from_url(worker.env["REDIS_URL"], prefix=worker.env["INVENTORY_KEY_PREFIX"])
    yield s
    await s.close()


@pytest.fixture
async def products(store: RedisStore) -> tuple[str, str]:
    """Two fresh products of this test: ``scarce`` (5 units) and ``plenty`` (100)."""
    tag = uuid.uuid4().hex[:8]
    scarce, plenty = f"it-{tag}-scarce", f"it-{tag}-plenty"
    await store.seed(
        [Product(scarce, "Scarce", Decimal("9.99"), 5), Product(plenty, "Plenty", Decimal(1), 100)],
        mode="create",
    )
    return scarce, plenty


class Kafka:
    """A producer to the inputs; a reader of ``inventory.v1`` and ``inventory.stock.v1``."""

    def __init__(self, bootstrap: str, group: str, stock_topic: str) -> None:
        self.group = group
        self.stock_topic = stock_topic
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        self.reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.admin = new_admin(bootstrap)
        self.tps = [
            TopicPartition(t, p) for t in (INVENTORY.name, stock_topic) for p in range(PARTITIONS)
        ]
        self.records: list[ConsumerRecord[bytes, bytes]] = []

    async def __aenter__(self) -> Kafka:
        await self.producer.start()
        await self.reader.start()
        await self.admin.start()
        self.reader.assign(self.tps)
        await self.reader.seek_to_end(*self.tps)
        for tp in self.tps:
            await self.reader.position(tp)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()
        await self.reader.stop()
        await self.admin.close()

    async def send(self, event: OrderPlaced | OrderCancelled | OrderCompleted) -> tuple[int, int]:
        """Send an input event to its topic; its (partition, offset)."""
        topic = ORDERS if isinstance(event, OrderPlaced) else OUTCOMES
        meta = await self.producer.send_and_wait(
            topic.name, value=encode(event), key=event.order_id.encode()
        )
        return meta.partition, meta.offset

    async def poll(self) -> list[ConsumerRecord[bytes, bytes]]:
        batches = await self.reader.getmany(timeout_ms=100)
        for records in batches.values():
            self.records.extend(records)
        return self.records

    async def read_to_end(self) -> list[ConsumerRecord[bytes, bytes]]:
        ends = await self.reader.end_offsets(self.tps)

        async def at_end() -> bool:
            if [tp for tp, end in ends.items() if await self.reader.position(tp) < end]:
                await self.poll()
                return False
            return True

        await eventually_async(
            f"output topics read to their end {ends}", at_end, timeout=DEADLINE, interval=0
        )
        return self.records

    def events(self, order_id: str) -> list[tuple[ConsumerRecord[bytes, bytes], Event]]:
        """The ``inventory.v1`` records of ``order_id`` read so far, decoded."""
        return [
            (r, decode(r.value))
            for r in self.records
            if r.topic == INVENTORY.name and r.key == order_id.encode()
        ]

    def levels(self, product_id: str) -> list[StockLevel]:
        out = []
        for r in self.records:
            if r.topic == self.stock_topic and r.key == product_id.encode():
                event = decode(r.value)
                assert isinstance(event, StockLevel)
                out.append(event)
        return out

    async def processed(self, topic: TopicSpec, partition: int, offset: int) -> bool:
        tp = TopicPartition(topic.name, partition)
        offsets = await self.admin.list_consumer_group_offsets(self.group, partitions=[tp])
        meta = offsets.get(tp)
        return meta is not None and meta.offset > offset


@pytest.fixture
async def kafka(worker: WorkerProcess) -> AsyncIterator[Kafka]:
    env = worker.env
    async with Kafka(
        env["KAFKA_BOOTSTRAP_SERVERS"], env["INVENTORY_GROUP"], env["INVENTORY_STOCK_TOPIC"]
    ) as k:
        yield k


eventually = partial(eventually_async, timeout=DEADLINE)


def placed(*lines: tuple[str, int]) -> OrderPlaced:
    """An order of this test run (a fresh id) of ``lines`` at 1.00 a unit."""
    return order_placed(*lines, order_id=new_order_id("it"), user_id="user-it", amount="1.00")


async def balanced(store: RedisStore, *product_ids: str) -> dict[str, Counters]:
    found = await store.counters(product_ids)
    assert violations(found) == []
    return found


def of_type(kafka: Kafka, order_id: str, cls: type[Event]) -> Callable[[], Awaitable[list[Any]]]:
    async def check() -> list[Any]:
        await kafka.poll()
        return [e for _, e in kafka.events(order_id) if isinstance(e, cls)]

    return check


async def test_an_order_is_reserved_once_and_its_levels_published(
    worker: WorkerProcess, kafka: Kafka, store: RedisStore, products: tuple[str, str]
) -> None:
    scarce, plenty = products
    order = placed((scarce, 2), (plenty, 1))
    partition, _ = await kafka.send(order)

    [reserved] = await eventually(
        "InventoryReserved", of_type(kafka, order.order_id, InventoryReserved), worker
    )
    assert reserved.event_id == derived_id(order, InventoryReserved.wire_type())
    assert [(x.product_id, x.quantity) for x in reserved.items] == sorted(
        [(scarce, 2), (plenty, 1)]
    )
    [(record, _)] = kafka.events(order.order_id)
    assert record.partition == partition == partition_of(order.order_id.encode())

    async def level_of_scarce() -> list[StockLevel]:
        await kafka.poll()
        return [lv for lv in kafka.levels(scarce) if lv.causation_id == str(order.event_id)]

    [level] = await eventually("the StockLevel of the scarce product", level_of_scarce, worker)
    assert (level.available, level.reserved, level.sold, level.price) == (3, 2, 0, Decimal("9.99"))
    assert (await balanced(store, scarce))[scarce].available == 3

    # the same bytes again: the same event again, nothing more reserved
    _, again = await kafka.send(order)
    await eventually(
        "the redelivery's offset commit", lambda: kafka.processed(ORDERS, partition, again), worker
    )
    await kafka.read_to_end()
    events = [e for _, e in kafka.events(order.order_id)]
    assert {e.event_id for e in events} == {reserved.event_id}
    assert len(events) >= 2
    after = await balanced(store, scarce, plenty)
    assert (after[scarce].units_reserved, after[plenty].units_reserved) == (2, 1)


async def test_a_cancellation_releases_what_was_reserved(
    worker: WorkerProcess, kafka: Kafka, store: RedisStore, products: tuple[str, str]
) -> None:
    scarce, _ = products
    order = placed((scarce, 5))
    await kafka.send(order)
    await eventually("InventoryReserved", of_type(kafka, order.order_id, InventoryReserved), worker)
    assert (await balanced(store, scarce))[scarce].available == 0

    # the scarce product is out of stock now: another order is rejected
    other = placed((scarce, 1))
    await kafka.send(other)
    [rejected] = await eventually(
        "InventoryRejected", of_type(kafka, other.order_id, InventoryRejected), worker
    )
    assert [(s.product_id, s.requested, s.available) for s in rejected.shortages] == [
        (scarce, 1, 0)
    ]

    cancel = order_cancelled(order, "payment_declined")
    await kafka.send(cancel)
    [released] = await eventually(
        "InventoryReleased", of_type(kafka, order.order_id, InventoryReleased), worker
    )
    assert released.causation_id == str(cancel.event_id)
    assert [(x.product_id, x.quantity) for x in released.items] == [(scarce, 5)]
    after = await balanced(store, scarce)
    assert after[scarce] == Counters(stocked=5, available=5, units_reserved=5, units_released=5)

    async def back_in_stock() -> bool:
        await kafka.poll()
        levels = kafka.levels(scarce)
        return bool(levels) and max(levels, key=lambda lv: lv.occurred_at).available == 5

    await eventually("the StockLevel back at 5", back_in_stock, worker)


async def test_an_order_after_its_cancellation_is_reserved_and_released_at_once(
    worker: WorkerProcess, kafka: Kafka, store: RedisStore, products: tuple[str, str]
) -> None:
    scarce, plenty = products
    order = placed((scarce, 1), (plenty, 10))
    await kafka.send(order_cancelled(order, "payment_declined"))

    async def tombstone() -> bool:
        record = await store.order(order.order_id)
        return record is not None and record.state == "cancelled"

    await eventually("the cancellation's tombstone", tombstone, worker)
    assert kafka.events(order.order_id) == []

    await kafka.send(order)
    await eventually("InventoryReleased", of_type(kafka, order.order_id, InventoryReleased), worker)
    await kafka.read_to_end()
    assert sorted(type(e).__name__ for _, e in kafka.events(order.order_id)) == [
        "InventoryReleased",
        "InventoryReserved",
    ]
    after = await balanced(store, scarce, plenty)
    assert (after[scarce].available, after[plenty].available) == (5, 100)
    assert (after[plenty].units_reserved, after[plenty].units_released) == (10, 10)


async def test_a_late_order_reserves_nothing_and_its_cancellation_leaks_no_stock(
    worker: WorkerProcess, kafka: Kafka, store: RedisStore, products: tuple[str, str]
) -> None:
    """Issue 12 finding 5: 700 s late, the order is ignored as stale (payment does the
    same), the saga's timeout leaves a tombstone, and a copy of the order is then
    reserved and released at once. 60 s late, an order is reserved as usual."""
    scarce, plenty = products
    late = placed((scarce, 2), (plenty, 3))
    late = msgspec.structs.replace(late, occurred_at=late.occurred_at - timedelta(seconds=700))
    partition, offset = await kafka.send(late)
    await eventually(
        "the late order processed", lambda: kafka.processed(ORDERS, partition, offset), worker
    )
    assert await store.order(late.order_id) is None
    await kafka.read_to_end()
    assert kafka.events(late.order_id) == []
    untouched = await balanced(store, scarce, plenty)
    assert (untouched[scarce].available, untouched[plenty].available) == (5, 100)

    timeout = reaction(late, OrderCancelled, user_id=late.user_id, reason="timeout")
    await kafka.send(timeout)

    async def tombstone() -> bool:
        record = await store.order(late.order_id)
        return record is not None and record.state == "cancelled"

    await eventually("the timeout's tombstone", tombstone, worker)
    await kafka.send(late)  # a copy, after the cancellation
    await eventually("InventoryReleased", of_type(kafka, late.order_id, InventoryReleased), worker)
    after = await balanced(store, scarce, plenty)
    assert (after[scarce].available, after[scarce].reserved) == (5, 0)
    assert (after[plenty].units_reserved, after[plenty].units_released) == (3, 3)

    delayed = placed((plenty, 1))
    delayed = msgspec.structs.replace(
        delayed, occurred_at=delayed.occurred_at - timedelta(seconds=60)
    )
    await kafka.send(delayed)
    await eventually(
        "InventoryReserved", of_type(kafka, delayed.order_id, InventoryReserved), worker
    )


async def test_a_completion_sells_what_was_reserved(
    worker: WorkerProcess, kafka: Kafka, store: RedisStore, products: tuple[str, str]
) -> None:
    scarce, _ = products
    order = placed((scarce, 3))
    await kafka.send(order)
    await eventually("InventoryReserved", of_type(kafka, order.order_id, InventoryReserved), worker)
    done = reaction(order, OrderCompleted, user_id=order.user_id, amount=Decimal(3), currency="USD")
    partition, _ = await kafka.send(done)
    await kafka.send(done)

    async def sold() -> bool:
        return (await store.counters([scarce]))[scarce].sold == 3

    await eventually("the units sold", sold, worker)
    _, last = await kafka.send(done)
    await eventually(
        "the redeliveries' commit", lambda: kafka.processed(OUTCOMES, partition, last), worker
    )
    after = await balanced(store, scarce)
    assert (after[scarce].available, after[scarce].reserved, after[scarce].sold) == (2, 0, 3)


def with_store(url: str, prefix: str, use: Callable[[RedisStore], Awaitable[Any]]) -> Any:
    """Run ``use(store)`` on a store of its own event loop (for synchronous tests)."""

    async def run() -> Any:
        store = RedisStore.from_url(url, prefix=prefix)
        try:
            return await use(store)
        finally:
            await store.close()

    return asyncio.run(run())


async def seed_levels(bootstrap: str, since: dict[TopicPartition, int]) -> list[StockLevel]:
    """The seed's ``StockLevel`` records on the stock topic after ``since``."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await reader.start()
    try:
        reader.assign(list(since))
        for tp, offset in since.items():
            reader.seek(tp, offset)
        ends = await reader.end_offsets(list(since))
        found: list[StockLevel] = []

        async def at_end() -> bool:
            if [tp for tp, end in ends.items() if await reader.position(tp) < end]:
                for records in (await reader.getmany(timeout_ms=100)).values():
                    found.extend(e for r in records if isinstance(e := decode(r.value), StockLevel))
                return False
            return True

        await eventually_async("the seed's stock levels", at_end, timeout=DEADLINE, interval=0)
        return [e for e in found if e.correlation_id == "inventory-seed"]
    finally:
        await reader.stop()


async def stock_ends(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await reader.start()
    try:
        return await reader.end_offsets([TopicPartition(topic, p) for p in range(PARTITIONS)])
    finally:
        await reader.stop()


def test_the_seed_command_loads_the_catalogue_once_and_publishes_it(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    prefix = f"inventory:seed-{uuid.uuid4().hex[:8]}:"
    stock = stock_topic()
    env = base_env(stack_env, prefix, stock)
    redis_url, bootstrap = stack_env["REDIS_URL"], stack_env["KAFKA_BOOTSTRAP_SERVERS"]
    asyncio.run(ensure_topics(bootstrap, [stock]))
    since = asyncio.run(stock_ends(bootstrap, stock.name))

    def seed(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "inventory", "seed", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    async def reserve_two(store: RedisStore) -> None:
        await store.apply(placed(("prod-013", 2)))

    try:
        first = seed("--if-empty")
        assert f"seeded {len(CATALOG)} products under {prefix!r}: {len(CATALOG)} created" in first
        assert f"published {len(CATALOG)} stock levels to {stock.name}" in first
        assert "prod-001   created    available=1000" in first
        published = asyncio.run(seed_levels(bootstrap, since))
        assert {lv.product_id for lv in published} >= {p.product_id for p in CATALOG}
        [beans] = [lv for lv in published if lv.product_id == "prod-001"][-1:]
        assert (beans.price, beans.available) == (Decimal("49.995"), 1000)

        with_store(redis_url, prefix, reserve_two)
        kept = seed("--if-empty", "--no-publish")
        assert f"{len(CATALOG)} kept" in kept
        assert "prod-013   kept       available=1     reserved=2" in kept
        restocked = seed("--no-publish")
        assert f"1 restocked, {len(CATALOG) - 1} unchanged" in restocked

        after = with_store(redis_url, prefix, lambda store: store.counters())
        assert (after["prod-013"].available, after["prod-013"].reserved) == (3, 2)
        assert violations(after) == []
        reset = seed("--reset", "--no-publish")
        assert f"{len(CATALOG)} created" in reset
        after = with_store(redis_url, prefix, lambda store: store.counters())
        assert after["prod-013"] == Counters(stocked=3, available=3)
    finally:
        with_store(redis_url, prefix, lambda store: store.reset())
        asyncio.run(delete_topic(bootstrap, stock.name))
