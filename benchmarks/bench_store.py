"""Measure what one event costs in Redis: ``python -m benchmarks.bench_store [N]``.

Uses ``REDIS_URL`` and a throwaway key prefix (deleted at the end). Prints, per
operation, the latency seen by one client awaiting each call (what a worker pays per
event) and the time the script ran inside Redis (``INFO commandstats``).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from decimal import Decimal

from contracts import OrderCancelled, OrderCompleted, OrderLine, OrderPlaced, reaction
from inventory.catalog import Product
from inventory.settings import load
from inventory.store import RedisStore


def _order(lines: int) -> OrderPlaced:
    oid = uuid.uuid4().hex
    return OrderPlaced(
        order_id=oid,
        correlation_id=oid,
        user_id="bench",
        currency="USD",
        amount=Decimal(1),
        items=tuple(
            OrderLine(product_id=f"b-{i}", quantity=1, unit_price=Decimal(1)) for i in range(lines)
        ),
    )


async def _evalsha_stats(store: RedisStore) -> tuple[int, float]:
    stats = await store.client.info("commandstats")
    row = stats.get("cmdstat_evalsha", {"calls": 0, "usec": 0})
    return int(row["calls"]), float(row["usec"])


async def bench(n: int, lines: int) -> None:
    store = RedisStore.from_url(load().redis_url, prefix=f"inventory:bench-{uuid.uuid4().hex}:")
    try:
        await store.prepare()
        await store.seed(
            [Product(f"b-{i}", f"Bench {i}", Decimal(1), 10 * n) for i in range(lines)],
            mode="create",
        )
        orders = [_order(lines) for _ in range(n)]
        phases = {
            "reserve (OrderPlaced)": orders,
            "redelivered OrderPlaced": orders,
            "release (OrderCancelled)": [
                reaction(o, OrderCancelled, user_id="bench", reason="timeout")
                for o in orders[: n // 2]
            ],
            "commit (OrderCompleted)": [
                reaction(o, OrderCompleted, user_id="bench", amount=Decimal(1), currency="USD")
                for o in orders[n // 2 :]
            ],
        }
        print(f"{n} orders of {lines} lines, one client awaiting each call:")
        for name, events in phases.items():
            calls0, usec0 = await _evalsha_stats(store)
            took = []
            for event in events:
                began = time.perf_counter()
                await store.apply(event)
                took.append((time.perf_counter() - began) * 1e6)
            calls1, usec1 = await _evalsha_stats(store)
            inside = (usec1 - usec0) / max(calls1 - calls0, 1)
            took.sort()
            print(
                f"  {name:<26} p50 {statistics.median(took):6.0f} us  "
                f"p99 {took[int(len(took) * 0.99) - 1]:6.0f} us  "
                f"in Redis {inside:5.1f} us/script  ({calls1 - calls0} EVALSHA)"
            )
    finally:
        await store.reset()
        await store.close()


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    for n_lines in (1, 3, 10):
        asyncio.run(bench(count, n_lines))
