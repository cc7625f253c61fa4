"""The floor: the saga's topology on bare aiokafka, one process per service, no framework.

Same hops as the platform — ``orders.v1`` → payment and inventory → the saga's correlation
→ ``orders.outcome.v1`` → notification and analytics (payment and inventory also react to
outcomes: refunds, releases, stock levels) — on copies of the platform's topics (same
partitions and configs, names prefixed ``bench.floor.``, so the platform's own workers never
see them). Every event is a ``contracts`` event encoded by ``contracts.encode`` and keyed by
``contracts.key_of``, so records are the platform's in size and partitioning. State is a dict
in memory; each process reads its partitions without a consumer group (assigned, from the
end) and sends what a batch of records causes before it fetches the next one.

    python -m benchmarks.floor ROLE --bootstrap HOST:PORT [--prefix bench.floor.]

A role prints ``floor ROLE: ready`` once it reads from the end of every input partition.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

import contracts
from contracts import topics
from contracts.topics import TopicSpec

PREFIX = "bench.floor."
READY = "ready"
#: Stock every product starts with in the floor's inventory (it never runs out).
STOCK = 10**9

Handler = Callable[[contracts.AnyEvent], list[contracts.Event]]


class Payment:
    """Authorizes an order once (``user-blocked`` is declined), refunds a cancelled one."""

    inputs = (topics.ORDERS, topics.OUTCOMES)

    def __init__(self) -> None:
        #: order id -> (authorized, amount, currency)
        self.charges: dict[str, tuple[bool, Decimal, str]] = {}
        self.refunded: set[str] = set()

    def __call__(self, event: contracts.AnyEvent) -> list[contracts.Event]:
        if isinstance(event, contracts.OrderPlaced):
            if event.order_id in self.charges:
                return []
            ok = event.user_id != "user-blocked"
            self.charges[event.order_id] = (ok, event.amount, event.currency)
            fields = {"user_id": event.user_id, "amount": event.amount, "currency": event.currency}
            if ok:
                return [contracts.reaction(event, contracts.PaymentAuthorized, **fields)]
            return [
                contracts.reaction(event, contracts.PaymentDeclined, reason="blocked", **fields)
            ]
        if isinstance(event, contracts.OrderCancelled):
            charge = self.charges.get(event.order_id)
            if charge and charge[0] and event.order_id not in self.refunded:
                self.refunded.add(event.order_id)
                return [
                    contracts.reaction(
                        event,
                        contracts.PaymentRefunded,
                        user_id=event.user_id,
                        amount=charge[1],
                        currency=charge[2],
                        reason=event.reason,
                    )
                ]
        return []


class Inventory:
    """Reserves each order's lines once, releases them on a cancel, sells them on a
    completion; every change also writes the product's level to ``inventory.stock.v1``."""

    inputs = (topics.ORDERS, topics.OUTCOMES)

    def __init__(self) -> None:
        self.available: dict[str, int] = {}
        self.reserved: dict[str, int] = {}
        self.sold: dict[str, int] = {}
        self.orders: dict[str, tuple[contracts.StockLine, ...]] = {}
        self.prices: dict[str, Decimal] = {}

    def _level(self, product: str, cause: contracts.OrderEvent) -> contracts.StockLevel:
        return contracts.StockLevel(
            product_id=product,
            name=product,
            price=self.prices.get(product, Decimal(0)),
            available=self.available.get(product, STOCK),
            reserved=self.reserved.get(product, 0),
            sold=self.sold.get(product, 0),
            correlation_id=cause.correlation_id,
            causation_id=str(cause.event_id),
        )

    def __call__(self, event: contracts.AnyEvent) -> list[contracts.Event]:
        out: list[contracts.Event] = []
        if isinstance(event, contracts.OrderPlaced):
            if event.order_id in self.orders:
                return []
            lines = tuple(
                contracts.StockLine(product_id=i.product_id, quantity=i.quantity)
                for i in event.items
            )
            self.orders[event.order_id] = lines
            for item in event.items:
                self.prices[item.product_id] = item.unit_price
            for line in lines:
                p = line.product_id
                self.available[p] = self.available.get(p, STOCK) - line.quantity
                self.reserved[p] = self.reserved.get(p, 0) + line.quantity
            out.append(contracts.reaction(event, contracts.InventoryReserved, items=lines))
            out.extend(self._level(line.product_id, event) for line in lines)
        elif isinstance(event, contracts.OrderCancelled | contracts.OrderCompleted):
            lines = self.orders.pop(event.order_id, ())
            for line in lines:
                p = line.product_id
                self.reserved[p] = self.reserved.get(p, 0) - line.quantity
                if isinstance(event, contracts.OrderCancelled):
                    self.available[p] = self.available.get(p, STOCK) + line.quantity
                else:
                    self.sold[p] = self.sold.get(p, 0) + line.quantity
            if lines and isinstance(event, contracts.OrderCancelled):
                out.append(contracts.reaction(event, contracts.InventoryReleased, items=lines))
            out.extend(self._level(line.product_id, event) for line in lines)
        return out


@dataclasses.dataclass
class _Pending:
    placed: contracts.OrderPlaced | None = None
    payment: contracts.PaymentAuthorized | contracts.PaymentDeclined | None = None
    inventory: contracts.InventoryReserved | contracts.InventoryRejected | None = None


class Saga:
    """Correlates an order's answers: a decline cancels at once; both answers decide."""

    inputs = (topics.ORDERS, topics.PAYMENTS, topics.INVENTORY)

    def __init__(self) -> None:
        self.pending: dict[str, _Pending] = {}
        self.decided: set[str] = set()

    def __call__(self, event: contracts.AnyEvent) -> list[contracts.Event]:
        if not isinstance(event, contracts.OrderEvent) or event.order_id in self.decided:
            return []
        state = self.pending.setdefault(event.order_id, _Pending())
        if isinstance(event, contracts.OrderPlaced):
            state.placed = event
        elif isinstance(event, contracts.PaymentAuthorized | contracts.PaymentDeclined):
            state.payment = event
        elif isinstance(event, contracts.InventoryReserved | contracts.InventoryRejected):
            state.inventory = event
        else:
            return []
        outcome = self._decide(state, event)
        if outcome is not None:
            self.decided.add(event.order_id)
            del self.pending[event.order_id]
            return [outcome]
        return []

    @staticmethod
    def _decide(state: _Pending, cause: contracts.OrderEvent) -> contracts.Event | None:
        pay = state.payment
        if isinstance(pay, contracts.PaymentDeclined):
            return contracts.reaction(
                cause,
                contracts.OrderCancelled,
                user_id=pay.user_id,
                reason="payment_declined",
                detail=pay.reason,
            )
        if pay is None or state.inventory is None:
            return None
        if isinstance(state.inventory, contracts.InventoryRejected):
            return contracts.reaction(
                cause, contracts.OrderCancelled, user_id=pay.user_id, reason="out_of_stock"
            )
        return contracts.reaction(
            cause,
            contracts.OrderCompleted,
            user_id=pay.user_id,
            amount=pay.amount,
            currency=pay.currency,
        )


class Notification:
    """One notice per outcome (and reads payments, as the platform's does)."""

    inputs = (topics.OUTCOMES, topics.PAYMENTS)

    def __init__(self) -> None:
        self.sent: set[str] = set()

    def __call__(self, event: contracts.AnyEvent) -> list[contracts.Event]:
        if not isinstance(event, contracts.OrderCompleted | contracts.OrderCancelled):
            return []
        if event.order_id in self.sent:
            return []
        self.sent.add(event.order_id)
        completed = isinstance(event, contracts.OrderCompleted)
        return [
            contracts.reaction(
                event,
                contracts.NotificationSent,
                user_id=event.user_id,
                outcome="completed" if completed else "cancelled",
                channel="log",
                subject=f"Order {event.order_id} {'completed' if completed else 'cancelled'}",
                body="",
            )
        ]


class Analytics:
    """Counts demand and sales per product in memory (the platform's windows, minus time)."""

    inputs = (topics.ORDERS, topics.OUTCOMES, topics.PAGEVIEWS)

    def __init__(self) -> None:
        self.demand: Counter[str] = Counter()
        self.sales: Counter[str] = Counter()
        self.lines: dict[str, list[tuple[str, int]]] = {}

    def __call__(self, event: contracts.AnyEvent) -> list[contracts.Event]:
        if isinstance(event, contracts.OrderPlaced):
            lines = [(i.product_id, i.quantity) for i in event.items]
            self.lines[event.order_id] = lines
            for product, quantity in lines:
                self.demand[product] += quantity
        elif isinstance(event, contracts.OrderCompleted):
            for product, quantity in self.lines.pop(event.order_id, []):
                self.sales[product] += quantity
        elif isinstance(event, contracts.OrderCancelled):
            self.lines.pop(event.order_id, None)
        return []


ROLES: dict[str, Callable[[], Any]] = {
    "payment": Payment,
    "inventory": Inventory,
    "saga": Saga,
    "notification": Notification,
    "analytics": Analytics,
}


def floor_topics(prefix: str = PREFIX, partitions: int | None = None) -> list[TopicSpec]:
    """The platform's saga topics under ``prefix`` (same partitions and configs)."""
    used = (
        topics.ORDERS,
        topics.PAYMENTS,
        topics.INVENTORY,
        topics.OUTCOMES,
        topics.NOTIFICATIONS,
        topics.STOCK,
        topics.PAGEVIEWS,
    )
    return [
        dataclasses.replace(spec, name=prefix + spec.name, partitions=partitions or spec.partitions)
        for spec in used
    ]


async def serve(role: str, bootstrap: list[str], prefix: str) -> None:
    """Run one role until SIGTERM/SIGINT."""
    handler = ROLES[role]()
    names = [prefix + spec.name for spec in handler.inputs]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=5
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    await consumer.start()
    await producer.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        partitions = [
            TopicPartition(name, p)
            for name in names
            for p in sorted(
                consumer.partitions_for_topic(name) or await _partitions(consumer, name)
            )
        ]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)  # resolve the end now, before we say ready
        print(f"floor {role}: {READY}", flush=True)
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=100, max_records=500)
            sends = []
            for records in batch.values():
                for record in records:
                    try:
                        event = contracts.decode(record.value or b"")
                    except contracts.ContractError:
                        continue
                    for out in handler(event):
                        topic = prefix + contracts.TOPIC_OF[type(out)].name
                        sends.append(
                            await producer.send(
                                topic, contracts.encode(out), key=contracts.key_of(out)
                            )
                        )
            if sends:
                await asyncio.gather(*sends)
    finally:
        await producer.stop()
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    for _ in range(50):
        await consumer._client.force_metadata_update()
        found: set[int] | None = consumer.partitions_for_topic(topic)
        if found:
            return found
        await asyncio.sleep(0.1)
    raise RuntimeError(f"topic {topic} has no partitions (was it created?)")


class FloorProcesses:
    """Starts one process per role and waits until each reads from the end of its inputs."""

    def __init__(self, bootstrap: str, prefix: str, log_dir: Path, cwd: Path) -> None:
        self.bootstrap = bootstrap
        self.prefix = prefix
        self.log_dir = log_dir
        self.cwd = cwd
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def pids(self) -> dict[str, int]:
        return {f"floor.{name}": p.pid for name, p in self.procs.items()}

    def start(self, timeout: float = 60.0) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for role in ROLES:
            with open(self.log_dir / f"floor-{role}.log", "wb") as log:
                self.procs[role] = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "benchmarks.floor",
                        role,
                        "--bootstrap",
                        self.bootstrap,
                        "--prefix",
                        self.prefix,
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=self.cwd,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
        deadline = time.monotonic() + timeout
        for role, proc in self.procs.items():
            path = self.log_dir / f"floor-{role}.log"
            while f"floor {role}: {READY}" not in path.read_text(errors="replace"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = path.read_text(errors="replace")[-2000:]
                    self.stop()
                    raise RuntimeError(f"floor {role} did not become ready:\n{tail}")
                time.sleep(0.1)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor")
    parser.add_argument("role", choices=sorted(ROLES))
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--prefix", default=PREFIX)
    args = parser.parse_args(argv)
    servers = [s.strip() for s in args.bootstrap.split(",") if s.strip()]
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.role, servers, args.prefix))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
