"""``python -m inventory reconcile`` and the start check, against the real broker and Redis.

A worker of its own (group, key prefix, stock topic) takes a few orders to every state
(committed, released, reserved, rejected); then Redis "loses" the store: the worker
refuses to start on it, the dry run lists what is missing without writing, and the
reconcile rebuilds the very same counters and records from the topics; the worker then
starts again and goes on from them.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from functools import partial

import pytest

from config.env import PlatformSettings
from contracts import (
    InventoryRejected,
    InventoryReleased,
    InventoryReserved,
    OrderCompleted,
    OrderPlaced,
    reaction,
)
from contracts.testing import order_cancelled
from inventory.catalog import Product
from inventory.domain import OrderRecord, violations
from inventory.reconcile import reconcile
from inventory.settings import InventorySettings
from inventory.store import RedisStore
from inventory.tests.test_integration import (
    DEADLINE,
    ROOT,
    TOPICS,
    Kafka,
    base_env,
    delete_topic,
    ensure_topics,
    of_type,
    placed,
    start_group_at_end,
    stock_topic,
)
from tests.support import WorkerProcess, eventually_async

pytestmark = pytest.mark.integration

eventually = partial(eventually_async, timeout=DEADLINE)


@pytest.fixture
def setup(stack_env: dict[str, str], tmp_path) -> Iterator[tuple[WorkerProcess, list[Product]]]:
    group = f"inventory-rc-{uuid.uuid4().hex[:8]}"
    prefix = f"inventory:rc-{uuid.uuid4().hex[:8]}:"
    bootstrap = stack_env["KAFKA_BOOTSTRAP_SERVERS"]
    stock = stock_topic()
    tag = uuid.uuid4().hex[:8]
    products = [
        Product(f"rc-{tag}-scarce", "Scarce", Decimal("9.99"), 5),
        Product(f"rc-{tag}-plenty", "Plenty", Decimal(1), 100),
    ]

    async def prepare() -> None:
        await ensure_topics(bootstrap, [*TOPICS, stock])
        await start_group_at_end(bootstrap, group)
        store = RedisStore.from_url(stack_env["REDIS_URL"], prefix=prefix)
        await store.seed(products, mode="create")
        await store.close()

    asyncio.run(prepare())
    w = WorkerProcess(
        "inventory", tmp_path, {**base_env(stack_env, prefix, stock), "INVENTORY_GROUP": group}
    )
    w.start()
    try:
        yield w, products
    finally:
        w.stop()

        async def clean() -> None:
            store = RedisStore.from_url(stack_env["REDIS_URL"], prefix=prefix)
            await store.reset()
            await store.close()
            await delete_topic(bootstrap, stock.name)

        asyncio.run(clean())


def completed(order: OrderPlaced) -> OrderCompleted:
    return reaction(
        order, OrderCompleted, user_id=order.user_id, amount=order.amount, currency=order.currency
    )


def settings_of(worker: WorkerProcess, monkeypatch: pytest.MonkeyPatch) -> InventorySettings:
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL"):
        monkeypatch.setenv(name, worker.env[name])
    return InventorySettings(
        platform=PlatformSettings(),
        group=worker.env["INVENTORY_GROUP"],
        key_prefix=worker.env["INVENTORY_KEY_PREFIX"],
        stock_topic=worker.env["INVENTORY_STOCK_TOPIC"],
    )


def essentials(record: OrderRecord | None) -> tuple[object, ...] | None:
    if record is None:
        return None
    outcome = None if record.outcome is None else record.outcome.event_id
    return (record.state, record.lines, record.shortages, record.placed, outcome)


def cli(worker: WorkerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inventory", *args],
        cwd=ROOT,
        env=worker.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_a_wiped_store_is_refused_at_start_and_rebuilt_to_the_same_figures(
    setup: tuple[WorkerProcess, list[Product]], monkeypatch: pytest.MonkeyPatch
) -> None:
    worker, products = setup
    scarce, plenty = (p.product_id for p in products)
    settings = settings_of(worker, monkeypatch)
    store = RedisStore.from_url(settings.redis_url, prefix=settings.key_prefix)
    env = worker.env
    async with Kafka(
        env["KAFKA_BOOTSTRAP_SERVERS"], env["INVENTORY_GROUP"], env["INVENTORY_STOCK_TOPIC"]
    ) as kafka:
        sold = placed((plenty, 3), (scarce, 1))
        released = placed((plenty, 2), (scarce, 1))
        pending = placed((scarce, 2))
        rejected = placed((scarce, 10))
        for order in (sold, released, pending, rejected):
            await kafka.send(order)
        for order in (sold, released, pending):
            await eventually("reserved", of_type(kafka, order.order_id, InventoryReserved), worker)
        await eventually("rejected", of_type(kafka, rejected.order_id, InventoryRejected), worker)
        await kafka.send(completed(sold))
        await kafka.send(order_cancelled(released, "payment_declined"))
        await eventually("released", of_type(kafka, released.order_id, InventoryReleased), worker)

        async def committed() -> bool:
            record = await store.order(sold.order_id)
            return record is not None and record.state == "committed"

        await eventually("the commit", committed, worker)
        orders: list[OrderPlaced] = [sold, released, pending, rejected]
        before = await store.counters([scarce, plenty])
        records = {o.order_id: essentials(await store.order(o.order_id)) for o in orders}
        assert before[scarce].reserved == 2 and before[plenty].sold == 3
        assert violations(before) == []

        # Redis loses the store: the worker refuses to start, so does the automatic seed
        worker.stop()
        await store.reset()
        refused = cli(worker, "worker")
        assert refused.returncode == 2, refused.stderr
        assert "reconcile" in refused.stderr and "empty" in refused.stderr
        seed = cli(worker, "seed", "--if-empty", "--no-publish")
        assert seed.returncode == 2 and "reconcile" in seed.stderr
        assert await store.product_ids() == []

        dry = await reconcile(settings, products, dry_run=True, publish=False)
        assert {f"order {o.order_id}" for o in orders} <= {d.split(":")[0] for d in dry.differences}
        assert await store.product_ids() == []  # a dry run writes nothing

        await reconcile(settings, products)
        assert await store.counters([scarce, plenty]) == before
        assert {o.order_id: essentials(await store.order(o.order_id)) for o in orders} == records
        again = await reconcile(settings, products, dry_run=True, publish=False)
        assert again.differences == []

        # the worker starts on the rebuilt store and goes on from it
        worker.start()
        await kafka.send(completed(pending))

        async def pending_sold() -> bool:
            record = await store.order(pending.order_id)
            return record is not None and record.state == "committed"

        await eventually("the pending order's commit", pending_sold, worker)
        after = await store.counters([scarce, plenty])
        assert (after[scarce].reserved, after[scarce].sold) == (0, 3)
        assert violations(after) == []
    await store.close()
