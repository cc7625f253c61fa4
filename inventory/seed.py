"""``python -m inventory seed``: load the catalogue into stock and publish every level.

- no option: create absent products, and set existing ones back to their catalogue
  level (a restock: units reserved for undecided orders and units sold stay counted);
- ``--if-empty``: create absent products only, leave existing stock alone (the
  platform runs this at every start). It refuses (exit 2) to seed an empty store when
  inventory's consumer group has already consumed orders: Redis lost the state, and
  seeding would restock as if nothing were reserved or sold
  (``inventory.reconcile.check_start``; run ``python -m inventory reconcile``);
- ``--reset``: delete every inventory key (stock and order records) first, then load
  the catalogue afresh. For a stopped platform: a worker running meanwhile would find
  its orders forgotten.

Then the current ``StockLevel`` of every catalogue product is published to
``inventory.stock.v1`` (``INVENTORY_STOCK_TOPIC``; ``--no-publish`` skips that), so the
read model shows it even when nothing changed. Prints one line per product and a summary.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from contracts import encode, key_of
from inventory.catalog import CATALOG, Product
from inventory.domain import Level, stock_level
from inventory.settings import InventorySettings, load
from inventory.store import RedisStore, Seeded

#: The correlation id of the levels published by seeding.
CORRELATION_ID = "inventory-seed"
#: Give up on Kafka after this long (a missing topic would otherwise wait forever).
PUBLISH_TIMEOUT = 30.0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m inventory seed", description="Load the product catalogue into stock."
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--reset", action="store_true", help="delete every inventory key, then load afresh"
    )
    mode.add_argument(
        "--if-empty", action="store_true", help="only create absent products; keep existing stock"
    )
    p.add_argument("--no-publish", action="store_true", help="do not publish the levels to Kafka")
    return p


async def seed(
    settings: InventorySettings,
    products: Sequence[Product] = CATALOG,
    *,
    reset: bool = False,
    if_empty: bool = False,
    publish: bool = True,
) -> list[Seeded]:
    """Seed ``products`` as the options say, print what was done, publish the levels."""
    store = RedisStore.from_url(
        settings.redis_url, prefix=settings.key_prefix, order_ttl=settings.order_ttl
    )
    try:
        if reset:
            deleted = await store.reset()
            print(f"reset: deleted {deleted} keys under {store.prefix!r}")
        seeded = await store.seed(products, mode="create" if reset or if_empty else "restock")
    finally:
        await store.close()
    for s in seeded:
        lv = s.level
        print(
            f"{lv.product_id:<10} {s.action:<10} available={lv.available:<5} "
            f"reserved={lv.reserved:<4} sold={lv.sold:<5} {lv.price:>9}  {lv.name}"
        )
    counts = Counter(s.action for s in seeded)
    summary = ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
    print(f"seeded {len(seeded)} products under {settings.key_prefix!r}: {summary}")
    if publish:
        try:
            await asyncio.wait_for(
                publish_levels(settings, [s.level for s in seeded]), PUBLISH_TIMEOUT
            )
        except TimeoutError:
            raise RuntimeError(
                f"Kafka at {settings.platform.kafka_bootstrap_servers} did not take the levels "
                f"within {PUBLISH_TIMEOUT:.0f}s: does {settings.stock_topic} exist?"
            ) from None
        print(f"published {len(seeded)} stock levels to {settings.stock_topic}")
    return seeded


async def publish_levels(settings: InventorySettings, levels: Sequence[Level]) -> None:
    """Send the ``StockLevel`` of each level, and wait until Kafka has them all."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.platform.bootstrap_list, acks="all")
    await producer.start()
    try:
        for level in levels:
            event = stock_level(level, correlation_id=CORRELATION_ID)
            await producer.send(settings.stock_topic, key=key_of(event), value=encode(event))
        await producer.flush()
    finally:
        await producer.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; 0 on success, 1 (with the reason on stderr) on failure."""
    args = parser().parse_args(argv)
    if args.if_empty:
        from inventory.reconcile import run_check_start

        if refused := run_check_start():
            return refused
    try:
        settings = load()
        asyncio.run(
            seed(settings, reset=args.reset, if_empty=args.if_empty, publish=not args.no_publish)
        )
    except Exception as exc:
        print(f"inventory seed failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0
