"""Micro-benchmark of the projector's database write: N orders' worth of synthetic events
folded into the read model in batches, as the projector does after each poll.

Run against the real PostgreSQL of the harness (a scratch ``test_…`` database is created
and dropped; nothing else is touched):

    .venv/bin/sagactl stack --no-kafka --no-redis -- .venv/bin/python benchmarks/projector_bench.py

Without ``DATABASE_URL`` it runs on a scratch SQLite database. It prints events/s and
this process's CPU milliseconds per event (the projector's own CPU; PostgreSQL's is apart),
for a first pass (every order new) and a redelivery of the same batches (changes nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")


def synthetic(orders: int, lag: int) -> list[Any]:
    """Each order's saga (placed, authorized, reserved, completed, notified, plus two stock
    levels); order i's k-th event comes ``k * lag`` orders after its placement, so a batch
    mixes every stage of many orders, as a poll across topics does."""
    import contracts as c
    from gateway.consumed import Seen

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    timed: list[tuple[int, int, Any]] = []
    for i in range(orders):
        oid = f"bench-{i:06d}"
        at = t0 + timedelta(milliseconds=i)
        line = c.OrderLine(product_id=f"prod-{i % 20:03d}", quantity=1, unit_price=Decimal("9.99"))
        placed = c.OrderPlaced(
            order_id=oid,
            correlation_id=oid,
            occurred_at=at,
            user_id=f"user-{i % 97}",
            currency="USD",
            amount=Decimal("9.99"),
            items=(line,),
        )
        stock = c.StockLine(product_id=line.product_id, quantity=1)
        steps = [
            placed,
            c.reaction(
                placed,
                c.PaymentAuthorized,
                occurred_at=at,
                user_id=placed.user_id,
                amount=placed.amount,
                currency="USD",
            ),
            c.reaction(placed, c.InventoryReserved, occurred_at=at, items=(stock,)),
            c.StockLevel(
                correlation_id=oid,
                occurred_at=at,
                product_id=line.product_id,
                name="Thing",
                price=Decimal("9.99"),
                available=1000 - i % 1000,
                reserved=1,
                sold=i,
            ),
            c.reaction(
                placed,
                c.OrderCompleted,
                occurred_at=at,
                user_id=placed.user_id,
                amount=placed.amount,
                currency="USD",
            ),
            c.StockLevel(
                correlation_id=oid,
                occurred_at=at + timedelta(microseconds=1),
                product_id=line.product_id,
                name="Thing",
                price=Decimal("9.99"),
                available=1000 - i % 1000,
                reserved=0,
                sold=i + 1,
            ),
            c.reaction(
                placed,
                c.NotificationSent,
                occurred_at=at,
                user_id=placed.user_id,
                outcome="completed",
                channel="email",
                subject="Your order",
                body="Thanks",
            ),
        ]
        for k, event in enumerate(steps):
            timed.append((i + k * lag, k, event))
    timed.sort(key=lambda x: (x[0], x[1]))
    return [Seen(f"topic-{k}", 0, n, e) for n, (_, k, e) in enumerate(timed)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=1000, help="events per batch")
    parser.add_argument("--lag", type=int, default=200, help="orders between saga steps")
    parser.add_argument("--label", default="", help="a name for this run in the output")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from gateway.orders.models import Order, TimelineEntry
    from gateway.projector.projection import project_batch

    events = synthetic(args.orders, args.lag)
    batches = [events[i : i + args.batch] for i in range(0, len(events), args.batch)]
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        figures = {}
        for phase in ("first", "redelivered"):
            wall, cpu = time.perf_counter(), time.process_time()
            for batch in batches:
                project_batch(batch)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            figures[phase] = {
                "events": len(events),
                "events_per_s": round(len(events) / wall),
                "cpu_ms_per_event": round(cpu * 1000 / len(events), 4),
                "wall_s": round(wall, 2),
            }
        completed = Order.objects.filter(status="COMPLETED").count()
        entries = TimelineEntry.objects.count()
        assert completed == args.orders, completed
        assert entries == args.orders * 5, entries
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    vendor = connection.vendor
    print(
        f"projector bench {args.label} ({vendor}, {args.orders} orders, "
        f"{len(events)} events, batches of {args.batch})"
    )
    for phase, f in figures.items():
        print(
            f"  {phase:<12} {f['events_per_s']:>8} events/s  "
            f"{f['cpu_ms_per_event']:.3f} CPU ms/event  ({f['wall_s']} s)"
        )
    if args.json:
        print(json.dumps({"label": args.label, "vendor": vendor, "batch": args.batch, **figures}))


if __name__ == "__main__":
    main()
