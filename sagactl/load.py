"""Place N orders through the gateway at a rate (or as fast as possible) and measure each
one from accept to outcome, read from ``orders.outcome.v1``.

An order's latency is its outcome event's ``occurred_at`` (the saga's clock) minus the
``createdAt`` the gateway answered with (the time the order and its outbox row were
committed): the whole saga, outbox relay included, on the platform's own clocks. The
outcome topic is read from its end offsets taken before the first order, without a
consumer group, so the run disturbs no group and sees only what happened after it began.

``direct`` skips the gateway: each ``OrderPlaced`` is produced straight to ``orders.v1``,
as the outbox relay would, and its latency counts from its ``occurred_at``. That measures
what the Kafka side (payment, inventory, saga) can do on its own; the gateway's figures
come from a run without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

import contracts
from contracts import topics

#: The demo customers `load` orders for (no service stores customers: an order names its
#: ``userId``). ``user-blocked`` is declined by payment's default rules.
CUSTOMERS = tuple(f"user-{n:03d}" for n in range(1, 101))


@dataclass(frozen=True)
class LoadPlan:
    orders: int
    #: Orders per second; 0 sends as fast as ``concurrency`` requests in flight allow.
    rate: float
    concurrency: int
    #: Seconds to wait for outcomes after the last order was accepted.
    settle_timeout: float
    #: Hard bound on the whole run, sending included.
    max_seconds: float
    seed: int = 1
    #: Produce ``OrderPlaced`` to ``orders.v1`` directly instead of POSTing to the gateway.
    direct: bool = False
    #: The topics a ``direct`` run produces to and every run reads outcomes from (a
    #: benchmark points them at a copy of the topology).
    orders_topic: str = topics.ORDERS.name
    outcomes_topic: str = topics.OUTCOMES.name


@dataclass
class LoadResult:
    sent: int = 0
    accepted: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    #: accept -> outcome, milliseconds, one per order with an outcome
    latencies_ms: list[float] = field(default_factory=list)
    #: POST round trips, milliseconds
    post_ms: list[float] = field(default_factory=list)
    send_seconds: float = 0.0
    total_seconds: float = 0.0
    #: From the first accept to the last outcome.
    saga_seconds: float = 0.0
    missing: int = 0
    stopped_early: str = ""

    def summary(self) -> dict[str, Any]:
        done = sum(self.outcomes.values())
        return {
            "sent": self.sent,
            "accepted": self.accepted,
            "httpStatuses": dict(self.statuses),
            "errors": dict(self.errors),
            "outcomes": dict(self.outcomes),
            "missing": self.missing,
            "sendSeconds": round(self.send_seconds, 2),
            "acceptRate": round(self.accepted / self.send_seconds, 1) if self.send_seconds else 0,
            "sagaSeconds": round(self.saga_seconds, 2),
            "throughput": round(done / self.saga_seconds, 1) if self.saga_seconds else 0,
            "latencyMs": percentiles(self.latencies_ms),
            "postMs": percentiles(self.post_ms),
            "stoppedEarly": self.stopped_early or None,
        }


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50, p90, p95, p99 and max (nearest rank), rounded to 0.1 ms; empty -> {}."""
    if not values:
        return {}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    out = {f"p{int(q * 100)}": round(rank(q), 1) for q in (0.5, 0.9, 0.95, 0.99)}
    out["max"] = round(ordered[-1], 1)
    return out


def outcome_name(event: contracts.AnyEvent) -> str | None:
    if isinstance(event, contracts.OrderCompleted):
        return "COMPLETED"
    if isinstance(event, contracts.OrderCancelled):
        return f"CANCELLED:{event.reason}"
    return None


def order_body(
    n: int, run_id: str, products: Sequence[dict[str, Any]], rng: random.Random
) -> dict[str, Any]:
    product = rng.choice(products)
    return {
        "orderId": f"load-{run_id}-{n}",
        "userId": rng.choice(CUSTOMERS),
        "currency": "USD",
        "items": [{"productId": product["productId"], "quantity": 1, "price": product["price"]}],
    }


def order_placed(body: dict[str, Any], at: datetime) -> contracts.OrderPlaced:
    """The ``OrderPlaced`` the gateway would publish for ``body`` (one line per item)."""
    lines = tuple(
        contracts.OrderLine(
            product_id=item["productId"],
            quantity=item["quantity"],
            unit_price=Decimal(str(item["price"])),
        )
        for item in body["items"]
    )
    return contracts.OrderPlaced(
        order_id=body["orderId"],
        correlation_id=body["orderId"],
        user_id=body["userId"],
        currency=body["currency"],
        amount=sum((line.unit_price * line.quantity for line in lines), Decimal(0)),
        items=lines,
        occurred_at=at,
    )


Progress = Callable[[LoadResult, int], None]


async def run_load(
    plan: LoadPlan,
    gateway: str,
    bootstrap: list[str],
    *,
    progress: Progress | None = None,
) -> LoadResult:
    """Place the orders, follow their outcomes, return the measurements."""
    result = LoadResult()
    run_id = uuid.uuid4().hex[:8]
    rng = random.Random(plan.seed)
    accepted_at: dict[str, datetime] = {}
    finished: set[str] = set()
    all_done = asyncio.Event()
    started = time.monotonic()
    hard_deadline = started + plan.max_seconds

    connector = aiohttp.TCPConnector(limit=plan.concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        products = await _products(http, gateway)
        watcher = _OutcomeWatcher(bootstrap, plan.outcomes_topic)
        await watcher.start()
        try:
            follow = asyncio.create_task(
                watcher.follow(
                    f"load-{run_id}-", accepted_at, finished, result, all_done, plan.orders
                )
            )
            await _send_all(plan, http, gateway, run_id, products, rng, result, accepted_at,
                            hard_deadline, progress, finished, bootstrap)  # fmt: skip
            result.send_seconds = time.monotonic() - started
            settle = min(hard_deadline, time.monotonic() + plan.settle_timeout)
            while not all_done.is_set() and len(finished) < len(accepted_at):
                remaining = settle - time.monotonic()
                if remaining <= 0:
                    result.stopped_early = result.stopped_early or "outcome wait timed out"
                    break
                if progress is not None:
                    progress(result, len(finished))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(all_done.wait(), min(0.5, remaining))
            follow.cancel()
            await asyncio.gather(follow, return_exceptions=True)
        finally:
            await watcher.stop()
    result.total_seconds = time.monotonic() - started
    result.missing = len(accepted_at) - len(finished)
    if accepted_at and watcher.last_outcome is not None:
        first = min(accepted_at.values())
        result.saga_seconds = (watcher.last_outcome - first).total_seconds()
    if progress is not None:
        progress(result, len(finished))
    return result


async def _products(http: aiohttp.ClientSession, gateway: str) -> list[dict[str, Any]]:
    async with http.get(f"{gateway}/api/products") as response:
        if response.status != 200:
            raise RuntimeError(f"GET {gateway}/api/products answered {response.status}")
        products = [p for p in await response.json() if p.get("available", 0) > 0]
    if not products:
        raise RuntimeError("no product has stock: seed the catalogue (`sagactl seed`)")
    return products


async def _send_all(
    plan: LoadPlan,
    http: aiohttp.ClientSession,
    gateway: str,
    run_id: str,
    products: list[dict[str, Any]],
    rng: random.Random,
    result: LoadResult,
    accepted_at: dict[str, datetime],
    hard_deadline: float,
    progress: Progress | None,
    finished: set[str],
    bootstrap: list[str],
) -> None:
    bodies = [order_body(n, run_id, products, rng) for n in range(plan.orders)]
    url = f"{gateway}/api/orders"
    next_index = 0
    began = time.monotonic()
    last_report = 0.0

    producer: AIOKafkaProducer | None = None
    if plan.direct:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", linger_ms=1, enable_idempotence=True
        )
        await producer.start()

    async def post(body: dict[str, Any]) -> None:
        t0 = time.monotonic()
        result.sent += 1
        try:
            if producer is not None:
                event = order_placed(body, datetime.now(UTC))
                key = event.order_id.encode()
                await producer.send_and_wait(plan.orders_topic, contracts.encode(event), key=key)
                result.statuses["kafka"] += 1
                result.accepted += 1
                accepted_at[event.order_id] = event.occurred_at
            else:
                async with http.post(url, json=body) as response:
                    answer = await response.json(content_type=None)
                    result.statuses[str(response.status)] += 1
                    if response.status == 202:
                        result.accepted += 1
                        accepted_at[body["orderId"]] = datetime.fromisoformat(answer["createdAt"])
        except (aiohttp.ClientError, KafkaError, TimeoutError, ValueError) as exc:
            result.errors[type(exc).__name__] += 1
        result.post_ms.append((time.monotonic() - t0) * 1000)

    async def worker() -> None:
        nonlocal next_index, last_report
        while next_index < len(bodies) and time.monotonic() < hard_deadline:
            n = next_index
            next_index += 1
            if plan.rate > 0:
                ahead = began + n / plan.rate - time.monotonic()
                if ahead > 0:
                    await asyncio.sleep(ahead)  # pacing the load to the asked rate
            await post(bodies[n])
            now = time.monotonic()
            if progress is not None and now - last_report > 0.2:
                last_report = now
                progress(result, len(finished))
        if next_index < len(bodies):
            result.stopped_early = f"time bound reached after {result.sent} orders"

    try:
        await asyncio.gather(*(worker() for _ in range(plan.concurrency)))
    finally:
        if producer is not None:
            await producer.stop()


class _OutcomeWatcher:
    """Reads ``orders.outcome.v1`` from its current end, without a consumer group."""

    def __init__(self, bootstrap: list[str], topic: str = topics.OUTCOMES.name) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50
        )
        self._topic = topic
        self.last_outcome: datetime | None = None

    async def start(self) -> None:
        await self._consumer.start()
        partitions = [
            TopicPartition(self._topic, p)
            for p in self._consumer.partitions_for_topic(self._topic) or await self._partitions()
        ]
        self._consumer.assign(partitions)
        for tp, end in (await self._consumer.end_offsets(partitions)).items():
            self._consumer.seek(tp, end)

    async def _partitions(self) -> set[int]:
        await self._consumer._client.force_metadata_update()
        return self._consumer.partitions_for_topic(self._topic) or set()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def follow(
        self,
        prefix: str,
        accepted_at: dict[str, datetime],
        finished: set[str],
        result: LoadResult,
        all_done: asyncio.Event,
        expected: int,
    ) -> None:
        pending: dict[str, tuple[str, datetime]] = {}  # outcomes seen before the 202 arrived
        while True:
            batch = await self._consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    try:
                        event = contracts.decode(record.value or b"")
                    except contracts.ContractError:
                        continue
                    name = outcome_name(event)
                    order_id = getattr(event, "order_id", "")
                    if name is None or order_id in finished or not order_id.startswith(prefix):
                        continue
                    pending[order_id] = (name, event.occurred_at)
            for order_id in [o for o in pending if o in accepted_at]:
                name, at = pending.pop(order_id)
                finished.add(order_id)
                result.outcomes[name] += 1
                result.latencies_ms.append((at - accepted_at[order_id]).total_seconds() * 1000)
                if self.last_outcome is None or at > self.last_outcome:
                    self.last_outcome = at
            if len(finished) >= expected:
                all_done.set()
