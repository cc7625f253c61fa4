"""The gateway's order intake: CPU per accepted ``POST /api/orders`` and orders/s.

Starts the gateway alone (daphne on 127.0.0.1, a port of its own, as ``sagactl run``
starts it) on the stack of the environment, with every check of a deployment on: the
anonymous throttle counted in Redis (``GATEWAY_CACHE_URL``, at a rate no run reaches, so
nothing is refused), prices from the catalogue, the idempotency key, the outbox row.
It puts a few products in the catalogue table, places ``--warmup`` orders (not
measured), then ``--orders`` orders with ``--concurrency`` clients at once, flat out (or
paced: ``--rate`` orders/s), each with its own ``Idempotency-Key`` (the body of ``sagactl
load``: one line with its price).

The figures:

- **CPU ms per accepted order** of the gateway process (utime+stime from
  ``/proc/<pid>/stat``, read before and after the measured orders; robust to a busy
  machine, unlike wall time), and of PostgreSQL (the server and its backends) and Redis;
- **accepted orders/s** (202s over the wall time of the measured orders) and the POST's
  p50/p99 (wall-clock figures: they depend on what else the machine runs);
- a check that every accepted order has its order row and its outbox row.

Bounded: ``--orders`` and ``--seconds`` (whichever ends first). The relay is not running,
so the outbox rows stay unpublished in the stack's database.

Run from the repository root against a stack (no broker needed)::

    .venv/bin/sagactl stack --no-kafka -- .venv/bin/python -m benchmarks.intake_bench

(``--orders``, ``--concurrency``, ``--warmup``, ``--seconds``: ``--help``.) The figures go
to ``var/bench/intake-<timestamp>.json`` with the commit, the machine and the command.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks import django_env, measure

ROOT = Path(__file__).resolve().parent.parent
#: Products the benchmark puts in the catalogue table (the projector is not running).
PRODUCTS = {f"intake-bench-{n}": Decimal(f"{10 + n}.50") for n in range(5)}


def order_body(n: int, run_id: str) -> dict[str, Any]:
    """``sagactl load``'s body: one line, its price stated."""
    product, price = list(PRODUCTS.items())[n % len(PRODUCTS)]
    return {
        "orderId": f"intake-{run_id}-{n}",
        "userId": f"user-{n % 50}",
        "currency": "USD",
        "items": [{"productId": product, "quantity": 1 + n % 3, "price": str(price)}],
    }


def stock_catalogue() -> None:
    from django.utils import timezone

    from gateway.catalog.models import Product

    now = timezone.now()
    for product_id, price in PRODUCTS.items():
        Product.objects.update_or_create(
            product_id=product_id,
            defaults={
                "name": product_id,
                "price": price,
                "available": 1_000_000,
                "reserved": 0,
                "sold": 0,
                "updated_at": now,
            },
        )


def server_pids() -> dict[str, int]:
    """PostgreSQL's postmaster (the parent of this connection's backend) and Redis."""
    import redis
    from django.db import connection

    found: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    stats = measure.read_proc_stats()
    if backend in stats:
        found["postgres"] = stats[backend].ppid
    with contextlib.suppress(Exception):
        info = redis.Redis.from_url(os.environ["REDIS_URL"]).info("server")
        found["redis"] = int(info["process_id"])
    return {k: v for k, v in found.items() if v in stats}


def stored(run_id: str) -> tuple[int, int]:
    """(order rows, outbox rows) of this run's orders."""
    from gateway.orders.models import Order
    from gateway.outbox.models import OutboxMessage

    prefix = f"intake-{run_id}-"
    orders = Order.objects.filter(order_id__startswith=prefix).count()
    outbox = sum(
        1 for key in OutboxMessage.objects.values_list("key", flat=True)
        if bytes(key).decode(errors="replace").startswith(prefix)
    )  # fmt: skip
    return orders, outbox


async def post_all(
    url: str,
    run_id: str,
    first: int,
    count: int,
    concurrency: int,
    deadline: float,
    rate: float = 0,
) -> dict[str, Any]:
    """POST orders ``first .. first+count-1`` with ``concurrency`` clients, flat out or,
    with ``rate``, the n-th order not before n/``rate`` s from the start; statuses, POST
    latencies (ms), wall seconds."""
    import aiohttp

    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    bodies = [
        json.dumps(order_body(n, run_id)).encode() for n in range(first, first + count)
    ]  # fmt: skip
    next_index = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def client() -> None:
            nonlocal next_index
            while next_index < len(bodies) and time.monotonic() < deadline:
                index = next_index
                body = bodies[index]
                next_index += 1
                if rate and (wait := began + index / rate - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                headers = {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
                t0 = time.monotonic()
                try:
                    async with http.post(f"{url}/api/orders", data=body, headers=headers) as r:
                        await r.read()
                        statuses[str(r.status)] += 1
                except (aiohttp.ClientError, TimeoutError) as exc:
                    statuses[type(exc).__name__] += 1
                latencies.append((time.monotonic() - t0) * 1000)

        began = time.monotonic()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        wall = time.monotonic() - began
    return {"statuses": dict(statuses), "latencies": latencies, "seconds": wall}


@contextlib.contextmanager
def gateway(log_dir: Path) -> Iterator[tuple[str, int]]:
    """The gateway alone (daphne on 127.0.0.1) with the throttle counted in Redis: its
    URL and process id."""
    from harness.runner import Platform, PlatformOptions

    env = {
        k: os.environ[k]
        for k in ("DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS")
        if k in os.environ
    }
    env["GATEWAY_CACHE_URL"] = measure_cache_url(os.environ["REDIS_URL"])
    env["GATEWAY_THROTTLE_ANON"] = "1000000/s"  # counted, never reached
    options = PlatformOptions(
        services=["gateway"],
        log_dir=log_dir,
        verbose=False,
        create_topics="KAFKA_BOOTSTRAP_SERVERS" in env,
    )
    with Platform(env, options) as running:
        yield running.gateway_url, running.supervisor.pid("gateway")


def measure_cache_url(redis_url: str) -> str:
    """``REDIS_URL`` with database 2 (inventory uses 0, the channel layer 1)."""
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(redis_url)._replace(path="/2"))


def figures(
    result: Mapping[str, Any], cpu0: Mapping[str, float], cpu1: Mapping[str, float]
) -> dict[str, Any]:
    accepted = int(result["statuses"].get("202", 0))
    seconds = float(result["seconds"])
    return {
        "accepted": accepted,
        "statuses": result["statuses"],
        "seconds": round(seconds, 2),
        "acceptedPerSecond": round(accepted / seconds, 1) if seconds else None,
        "cpuMsPerAccepted": measure.cpu_ms_per_order(cpu0, cpu1, accepted),
        "postMs": measure.latency_summary(result["latencies"]),
    }


def report(doc: Mapping[str, Any]) -> str:
    m, cpu, post = doc["machine"], doc["cpuMsPerAccepted"], doc["postMs"]
    pace = f"paced at {doc['rate']:g}/s" if doc.get("rate") else "flat out"
    return "\n".join(
        [
            f"intake bench: {doc['accepted']} of {doc['orders']} orders accepted"
            f" ({doc['concurrency']} clients, {pace}) in {doc['seconds']} s:"
            f" {doc['acceptedPerSecond']} orders/s",
            "  CPU ms per accepted order: "
            + ", ".join(f"{k} {v}" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])),
            f"  POST ms: p50 {post.get('p50', '-')}  p99 {post.get('p99', '-')}"
            f"  max {post.get('max', '-')}",
            f"  stored: {doc['stored']['orders']} order rows, {doc['stored']['outbox']} outbox"
            f" rows; statuses {doc['statuses']}",
            f"  machine: {m['cores']} cores, load average"
            f" {' '.join(f'{x:.2f}' for x in m['loadAverageBefore'])} before; {m['date']};"
            f" commit {doc['git'].get('commit', '')[:12]}"
            + (" (dirty)" if doc["git"].get("dirty") else ""),
            f"  command: {doc['command']}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=400, help="measured orders (400)")
    parser.add_argument("--warmup", type=int, default=50, help="orders before measuring (50)")
    parser.add_argument("--concurrency", type=int, default=16, help="clients at once (16)")
    parser.add_argument("--seconds", type=float, default=60, help="time bound (60 s)")
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="orders/s to pace the measured orders at (0: flat out, the default)",
    )
    args = parser.parse_args(argv)
    django_env.setup(parser)
    command = shlex.join(
        [
            os.path.relpath(sys.executable),
            "-m",
            "benchmarks.intake_bench",
            *(argv if argv is not None else sys.argv[1:]),
        ]
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_id = stamp.lower()
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    with gateway(out / f"intake-logs-{stamp}") as (url, pid):
        stock_catalogue()
        pids = {"gateway": pid, **server_pids()}
        deadline = time.monotonic() + args.seconds
        warm = asyncio.run(post_all(url, run_id, 0, args.warmup, args.concurrency, deadline))
        if warm["statuses"].get("202", 0) != args.warmup:
            print(f"intake bench: warm-up answered {warm['statuses']}", file=sys.stderr)
            return 1
        cpu0, _ = measure.sample(pids)
        result = asyncio.run(
            post_all(url, run_id, args.warmup, args.orders, args.concurrency, deadline, args.rate)
        )
        cpu1, rss = measure.sample(pids)
        orders, outbox = stored(run_id)
    expected = args.warmup + int(result["statuses"].get("202", 0))
    doc = {
        "orders": args.orders,
        "concurrency": args.concurrency,
        "rate": args.rate or None,
        **figures(result, cpu0, cpu1),
        "rssMb": rss,
        "stored": {"orders": orders, "outbox": outbox, "expected": expected},
        "git": measure.git_commit(ROOT),
        "machine": measure.machine(load_before),
        "command": command,
    }
    (out / f"intake-{stamp}.json").write_text(json.dumps(doc, indent=2) + "\n")
    print(report(doc))
    print(f"  figures: var/bench/intake-{stamp}.json")
    complete = orders == outbox == expected
    if not complete:
        print("intake bench: an accepted order lacks its order or outbox row", file=sys.stderr)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
