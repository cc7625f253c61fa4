"""Measure the payment worker's RSS as orders flow: ``python -m benchmarks.measure_memory``.

Not a test (pytest does not collect it): a tool to check the ledger stays bounded. It
starts ``python -m payment worker`` (from ``--root``, default this checkout) with a new
consumer group on the broker at ``KAFKA_BOOTSTRAP_SERVERS``, warms it up, then sends
``--orders`` orders in rounds, each ``OrderPlaced`` followed by its outcome (completed,
every ``--cancel-every``-th cancelled), waits until the worker has committed everything,
and prints the worker's RSS after each round. ``--no-outcomes`` sends orders only (like
a platform without the saga) and waits for ``orders.v1`` alone. Extra ``NAME=VALUE``
arguments go to the worker's environment (e.g. ``PAYMENT_RETENTION_SECONDS=15``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts import OrderCancelled, OrderCompleted, OrderLine, OrderPlaced, encode, key_of
from contracts.topics import ORDERS, OUTCOMES, PAYMENTS
from kafka_admin.client import new_admin
from kafka_admin.offsets import committed_offsets
from kafka_admin.offsets import lag as partition_lag
from kafka_admin.topics import ensure_topics_async

ROOT = Path(__file__).resolve().parents[1]


def rss_kib(pid: int) -> int:
    """The resident set size of process ``pid`` in KiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def order_events(n: int, *, outcomes: bool, cancel_every: int) -> list[tuple[str, bytes, bytes]]:
    """``(topic, key, value)`` for ``n`` orders: each placed, then decided."""
    out: list[tuple[str, bytes, bytes]] = []
    for i in range(n):
        oid = f"mem-{uuid.uuid4().hex[:16]}"
        placed = OrderPlaced(
            order_id=oid,
            correlation_id=oid,
            user_id=f"user-{i % 997}",
            currency="EUR",
            amount=Decimal("42.50"),
            items=(OrderLine(product_id="p-1", quantity=1, unit_price=Decimal("42.50")),),
        )
        out.append((ORDERS.name, key_of(placed), encode(placed)))
        if not outcomes:
            continue
        if cancel_every and i % cancel_every == 0:
            outcome: OrderCancelled | OrderCompleted = OrderCancelled(
                order_id=oid,
                correlation_id=oid,
                user_id=placed.user_id,
                reason="out_of_stock",
                detail="p-1: 0 of 1",
            )
        else:
            outcome = OrderCompleted(
                order_id=oid,
                correlation_id=oid,
                user_id=placed.user_id,
                amount=placed.amount,
                currency="EUR",
            )
        out.append((OUTCOMES.name, key_of(outcome), encode(outcome)))
    return out


async def lag(
    admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, group: str, topics: list[str]
) -> int:
    """How many messages of ``topics`` the worker's ``group`` has not committed yet."""
    tps = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]
    ends = await consumer.end_offsets(tps)
    committed = await committed_offsets(admin, group, tps)
    return sum(partition_lag(end, committed.get(tp)) for tp, end in ends.items())


PARTITIONS = int(os.environ.get("TOPIC_PARTITIONS", "") or ORDERS.partitions)


async def main(args: argparse.Namespace) -> None:
    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    await ensure_topics_async(bootstrap, [ORDERS, OUTCOMES, PAYMENTS], PARTITIONS)
    group = f"payment-mem-{uuid.uuid4().hex[:8]}"
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    admin = new_admin(bootstrap)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    await consumer.start()
    await admin.start()
    await producer.start()
    # Start the new group at the end of its inputs: only this run's orders count.
    tps = [TopicPartition(t, p) for t in (ORDERS.name, OUTCOMES.name) for p in range(PARTITIONS)]
    consumer.assign(tps)
    await consumer.commit(await consumer.end_offsets(tps))
    extra = dict(kv.split("=", 1) for kv in args.env)
    env = {
        **os.environ,
        "PAYMENT_GROUP": group,
        "PYTHONPATH": str(args.root),
        **extra,
    }
    log = Path(f"/tmp/{group}.log")
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "payment", "worker", "-l", "info"],
            cwd=args.root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:

        async def run_round(n: int) -> float:
            started = time.monotonic()
            for topic, key, value in order_events(
                n, outcomes=not args.no_outcomes, cancel_every=args.cancel_every
            ):
                await producer.send(topic, key=key, value=value)
            await producer.flush()
            deadline = time.monotonic() + 600
            inputs = [ORDERS.name] if args.no_outcomes else [ORDERS.name, OUTCOMES.name]
            while await lag(admin, consumer, group, inputs) > 0:
                if worker.poll() is not None:
                    raise SystemExit(f"worker exited: see {log}")
                if time.monotonic() > deadline:
                    raise SystemExit(f"worker did not catch up: see {log}")
                await asyncio.sleep(0.5)
            return time.monotonic() - started

        await run_round(args.warmup)
        base = rss_kib(worker.pid)
        print(f"{datetime.now(UTC):%H:%M:%S} after {args.warmup} warm-up orders: RSS {base} KiB")
        done = 0
        per_round = args.orders // args.rounds
        for _ in range(args.rounds):
            took = await run_round(per_round)
            done += per_round
            rss = rss_kib(worker.pid)
            print(
                f"{datetime.now(UTC):%H:%M:%S} {done:>7} orders ({took:5.1f}s): RSS {rss} KiB, "
                f"+{rss - base} KiB = {(rss - base) * 1024 / done:.0f} B/order"
            )
            if args.pause:
                await asyncio.sleep(args.pause)
    finally:
        worker.terminate()
        worker.wait(30)
        await producer.stop()
        await consumer.stop()
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between rounds")
    parser.add_argument("--no-outcomes", action="store_true")
    parser.add_argument("--cancel-every", type=int, default=10)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("env", nargs="*", help="NAME=VALUE for the worker's environment")
    asyncio.run(main(parser.parse_args()))
