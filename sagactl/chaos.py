"""The chaos scenario of `sagactl chaos` and the chaos test tier: steady load through the
gateway with a customer mix, faults injected at spread times, then the invariants.

The mix: ordinary customers; ``user-blocked`` (declined by payment); six espresso
machines (over the 5,000 credit limit); the scarce products (3 to 5 units, so most of
those orders are cancelled for stock); and repeats of earlier requests with the same
``Idempotency-Key`` (the gateway must answer with the first order, never a second one).

The faults: ``kill -9`` of each worker type, the projector and the relay (the supervisor
restarts them); a Kafka node killed and restarted (in a cluster, the leader of the busiest
partition of ``orders.v1``); PostgreSQL and Redis restarted once each. Which of these a
target can inject depends on what it owns (`Target`): a platform reached through its
control socket offers the process kills only.

Then it waits until every accepted order has an outcome (bounded), reads the facts from
the topics (`harness.ledger`) and every order from the API, and checks the invariants.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from aiokafka.admin import AIOKafkaAdminClient

from harness import evidence as harness_evidence
from harness import ledger
from sagactl.load import CUSTOMERS

#: Faults in the order they are injected (spread over the load).
PROCESS_FAULTS = ("payment", "inventory", "saga", "notification", "projector", "relay")
INFRA_FAULTS = ("kafka", "postgres", "redis")
ALL_FAULTS = (*PROCESS_FAULTS[:3], "kafka", *PROCESS_FAULTS[3:5], "postgres", "relay", "redis")

SCARCE = ("prod-013", "prod-021", "prod-023")
EXPENSIVE = ("prod-022", 6)  # 6 x 899.00 > the 5,000.00 credit limit
BLOCKED = "user-blocked"

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))

#: A 503 is allowed while PostgreSQL or Redis is restarted (the gateway's answer to an
#: unavailable dependency, ``gateway.errors``) and for this long after: a request that
#: was waiting for a pooled connection (up to the pool's 10 s timeout) when it went down.
OUTAGE_GRACE_S = 12.0
#: The faults during which the gateway may answer 503.
_UNAVAILABLE_DURING = ("postgres", "redis")


class Target(Protocol):
    """What the scenario acts on."""

    gateway: str
    bootstrap: str

    def processes(self, service: str) -> list[tuple[str, int]]:
        """(name, pid) of each running process of ``service``."""
        ...

    def infra(self, component: str) -> Callable[[], str] | None:
        """A callable that restarts ``component`` (kafka, postgres, redis) and says what it
        did; None when this target cannot."""
        ...


@dataclass(frozen=True)
class ChaosPlan:
    orders: int = 300
    rate: float = 15.0
    concurrency: int = 8
    #: Seconds to wait for every outcome after the last order was accepted.
    settle_timeout: float = 240.0
    #: Hard bound on the whole run.
    max_seconds: float = 900.0
    seed: int = 1
    faults: Sequence[str] = ALL_FAULTS
    #: How many times each fault is injected.
    rounds: int = 1


@dataclass
class ChaosResult:
    verdict: ledger.Verdict
    sent: int = 0
    repeats: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    mix: Counter[str] = field(default_factory=Counter)
    faults: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: Repeats answered with another order than the first one (never allowed).
    duplicate_orders: list[str] = field(default_factory=list)
    #: (fault, began, ended) of each PostgreSQL or Redis restart, in ``time.monotonic()``.
    outages: list[tuple[str, float, float]] = field(default_factory=list)
    #: (orderId, sent, answered) of each request answered 503.
    unavailable: list[tuple[str, float, float]] = field(default_factory=list)
    #: Requests answered with a 5xx other than 503 (never allowed: the gateway answers an
    #: unavailable database or Redis with a 503, anything else is a bug).
    server_errors: list[str] = field(default_factory=list)

    def during_outage(self, sent: float, answered: float) -> bool:
        """Whether a request in flight from ``sent`` to ``answered`` overlapped a
        PostgreSQL or Redis restart (plus ``OUTAGE_GRACE_S``)."""
        return any(
            sent <= ended + OUTAGE_GRACE_S and answered >= began for _, began, ended in self.outages
        )

    @property
    def stray_unavailable(self) -> list[str]:
        """503s answered while no dependency was being restarted (never allowed)."""
        return [
            f"503 for {order_id} outside any PostgreSQL/Redis restart"
            for order_id, sent, answered in self.unavailable
            if not self.during_outage(sent, answered)
        ]

    @property
    def ok(self) -> bool:
        return (
            self.verdict.ok
            and not self.duplicate_orders
            and not self.server_errors
            and not self.stray_unavailable
        )

    def report(self) -> str:
        lines = [f"chaos: {self.sent} requests in {self.seconds:.0f}s"]
        lines.append("  mix        " + ", ".join(f"{k}={v}" for k, v in sorted(self.mix.items())))
        lines.append(
            "  answers    " + ", ".join(f"{k}={v}" for k, v in sorted(self.statuses.items()))
        )
        excused = len(self.unavailable) - len(self.stray_unavailable)
        lines.append(f"  503 during PostgreSQL/Redis restarts (allowed, retried): {excused}")
        lines.append(
            "  figures    " + ", ".join(f"{k}={v}" for k, v in self.verdict.figures.items())
        )
        lines.append("  faults injected:")
        lines += [f"    {fault}" for fault in self.faults] or ["    (none)"]
        if self.skipped:
            lines.append("  faults not injected:")
            lines += [f"    {s}" for s in self.skipped]
        lines.append("  checks (all must be 0):")
        mine = {
            "duplicate_orders": self.duplicate_orders,
            "server_errors": self.server_errors,
            "stray_503": self.stray_unavailable,
        }
        counts = {**self.verdict.counts(), **{name: len(items) for name, items in mine.items()}}
        for name, count in counts.items():
            lines.append(f"    {name:<22}{count}")
        for name, items in [*self.verdict.violations.items(), *mine.items()]:
            for item in items[:5]:
                lines.append(f"    ! {name}: {item}")
        lines.append("chaos: OK" if self.ok else "chaos: VIOLATIONS")
        return "\n".join(lines)


def order_mix(
    n: int, run_id: str, products: list[dict[str, Any]], rng: random.Random
) -> tuple[str, dict[str, Any]]:
    """The ``n``-th new order of the run: (its kind, its body)."""
    prices = {p["productId"]: p["price"] for p in products}
    plenty = [p for p in products if p["productId"] not in SCARCE and p.get("available", 0) > 50]
    roll = rng.random()
    user = rng.choice(CUSTOMERS)
    if roll < 0.1:
        kind, user, product, qty = "declined", BLOCKED, rng.choice(plenty)["productId"], 1
    elif roll < 0.2 and EXPENSIVE[0] in prices:
        kind, (product, qty) = "over-limit", EXPENSIVE
    elif roll < 0.3:
        kind, product, qty = "scarce", rng.choice([s for s in SCARCE if s in prices]), 1
    else:
        kind, product, qty = "ordinary", rng.choice(plenty)["productId"], rng.randint(1, 2)
    body = {
        "orderId": f"chaos-{run_id}-{n}",
        "userId": user,
        "currency": "USD",
        "items": [{"productId": product, "quantity": qty, "price": prices[product]}],
    }
    return kind, body


def run(
    target: Target,
    plan: ChaosPlan,
    *,
    log: Callable[[str], None] = print,
    evidence: Path | None = None,
) -> ChaosResult:
    """Load, faults, wait, check. Bounded by ``plan.max_seconds``.

    With violations and an ``evidence`` folder, writes there where the violating orders
    sit in the topics and how the groups' commits moved over them (``harness.evidence``).
    """
    began = time.monotonic()
    deadline = began + plan.max_seconds
    products = _get_json(f"{target.gateway}/api/products")
    stock_before = {p["productId"]: int(p.get("available", 0)) for p in products}
    result = ChaosResult(verdict=ledger.Verdict())
    accepted: dict[str, str] = {}  # orderId -> the orderId the gateway answered
    send_seconds = plan.orders / plan.rate if plan.rate > 0 else 30.0
    faults = [f for _ in range(plan.rounds) for f in plan.faults]
    stop_faults = threading.Event()
    injector = threading.Thread(
        target=_inject,
        args=(target, faults, send_seconds, result, stop_faults, log),
        name="chaos-faults",
        daemon=True,
    )
    injector.start()
    try:
        asyncio.run(_load(target, plan, products, result, accepted, deadline, log))
    finally:
        injector.join(timeout=max(1.0, deadline - time.monotonic()))
        stop_faults.set()
    log(f"chaos: {len(accepted)} orders accepted; waiting for every outcome...")
    order_ids = sorted(set(accepted.values()))
    facts = _settle(
        target, order_ids, min(deadline, time.monotonic() + plan.settle_timeout), stock_before
    )
    api = {order_id: _order(target.gateway, order_id) for order_id in order_ids}
    api_wait = min(deadline, time.monotonic() + 60)
    while time.monotonic() < api_wait and any(
        o is None or o.get("status") == "PENDING" for o in api.values()
    ):  # the read model follows the topics: give the projector time to catch up
        time.sleep(1)
        api = {i: (o if o and o.get("status") != "PENDING" else _order(target.gateway, i))
               for i, o in api.items()}  # fmt: skip
    result.verdict = ledger.check(
        facts, order_ids, {k: v for k, v in api.items() if v}, stock_before=stock_before
    )
    result.seconds = time.monotonic() - began
    if evidence is not None and not result.verdict.ok:
        try:
            path = harness_evidence.write(target.bootstrap, result.verdict.violations, evidence)
            log(f"chaos: evidence in {path}")
        except Exception as exc:  # the verdict stands without it
            log(f"chaos: no evidence written: {exc!r}")
    return result


async def _load(
    target: Target,
    plan: ChaosPlan,
    products: list[dict[str, Any]],
    result: ChaosResult,
    accepted: dict[str, str],
    deadline: float,
    log: Callable[[str], None],
) -> None:
    rng = random.Random(plan.seed)
    run_id = uuid.uuid4().hex[:8]
    requests: list[tuple[str, dict[str, Any]]] = []
    made = 0
    while made < plan.orders:
        if requests and rng.random() < 0.1:
            requests.append(("repeat", rng.choice([b for k, b in requests if k != "repeat"])))
            continue
        requests.append(order_mix(made, run_id, products, rng))
        made += 1
    began = time.monotonic()
    next_index = 0
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(timeout=timeout) as http:

        async def post(kind: str, body: dict[str, Any]) -> None:
            key = body["orderId"]
            while time.monotonic() < deadline:
                sent = time.monotonic()
                try:
                    async with http.post(
                        f"{target.gateway}/api/orders", json=body, headers={"Idempotency-Key": key}
                    ) as response:
                        status = response.status
                        answer = await response.json(content_type=None)
                except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                    result.statuses[type(exc).__name__] += 1
                    await asyncio.sleep(1)  # the gateway or its database restarts: retry
                    continue
                result.statuses[str(status)] += 1
                if status == 503:
                    result.unavailable.append((key, sent, time.monotonic()))
                elif status >= 500:
                    kind_of = answer.get("type") if isinstance(answer, dict) else None
                    result.server_errors.append(f"{status} ({kind_of}) for {key}")
                if status >= 500 or status == 429:
                    await asyncio.sleep(1)  # same key: the retry cannot make a second order
                    continue
                if status in (200, 201, 202):
                    got = answer.get("orderId", key)
                    if kind == "repeat":
                        result.repeats += 1
                        if got != key:
                            result.duplicate_orders.append(f"{key} answered as {got}")
                    accepted[key] = got
                return

        async def worker() -> None:
            nonlocal next_index
            while next_index < len(requests) and time.monotonic() < deadline:
                n = next_index
                next_index += 1
                if plan.rate > 0:
                    ahead = began + n / plan.rate - time.monotonic()
                    if ahead > 0:
                        await asyncio.sleep(ahead)
                kind, body = requests[n]
                result.sent += 1
                result.mix[kind] += 1
                await post(kind, body)
                if result.sent % 100 == 0:
                    log(f"chaos: {result.sent}/{len(requests)} requests sent")

        await asyncio.gather(*(worker() for _ in range(plan.concurrency)))


def _inject(
    target: Target,
    faults: list[str],
    spread: float,
    result: ChaosResult,
    stop: threading.Event,
    log: Callable[[str], None],
) -> None:
    """Each fault at its time: evenly spread over the load, the first after a tenth."""
    began = time.monotonic()
    for i, fault in enumerate(faults):
        at = began + spread * (i + 1) / (len(faults) + 1)
        if stop.wait(max(0.0, at - time.monotonic())):
            return
        offset = time.monotonic() - began
        try:
            if fault in INFRA_FAULTS:
                restart = target.infra(fault)
                if restart is None:
                    result.skipped.append(f"{fault}: this target cannot restart it")
                    continue
                began_at = time.monotonic()
                try:
                    what = restart()
                finally:
                    if fault in _UNAVAILABLE_DURING:
                        result.outages.append((fault, began_at, time.monotonic()))
            else:
                what = _kill(target, fault)
        except Exception as exc:  # a failed injection is reported, not fatal
            result.skipped.append(f"{fault}: injection failed: {exc!r}")
            log(f"chaos: injecting {fault} failed: {exc!r}")
            continue
        line = f"t={offset:5.1f}s  {what}"
        result.faults.append(line)
        log(f"chaos: {line}")


def _kill(target: Target, service: str) -> str:
    running = target.processes(service)
    if not running:
        raise RuntimeError(f"no running process of {service}")
    name, pid = running[0]
    os.killpg(pid, signal.SIGKILL)
    return f"kill -9 {name} (pid {pid})"


def _settle(
    target: Target, order_ids: list[str], until: float, stock_before: Mapping[str, int]
) -> ledger.RunFacts:
    """Read the facts until every invariant holds on them, or time is up.

    The platform is eventually consistent: a cancelled order's release, its refund and
    its notice follow its outcome, each at its own pace. And the topics are read one
    after the other, so one read can find an outcome whose ``OrderPlaced`` landed on
    ``orders.v1`` after that topic was read. So a violation only counts once it has
    lasted until the deadline (the read model is checked after, against these facts)."""
    while True:
        facts = ledger.collect(target.bootstrap)
        verdict = ledger.check(facts, order_ids, {}, stock_before=stock_before)
        unsettled = any(
            items for name, items in verdict.violations.items() if name != "read_model_mismatch"
        )
        if not unsettled or time.monotonic() >= until:
            return facts
        time.sleep(3)


def busiest_leader(bootstrap: str, topic: str = "orders.v1") -> int:
    """The node id leading the partition of ``topic`` with the most records."""

    async def ask() -> int:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        servers = [s for s in bootstrap.split(",") if s]
        admin = AIOKafkaAdminClient(bootstrap_servers=servers)
        consumer = AIOKafkaConsumer(bootstrap_servers=servers)
        await admin.start()
        await consumer.start()
        try:
            (meta,) = await admin.describe_topics([topic])
            leaders = {p["partition"]: p["leader"] for p in meta["partitions"]}
            ends = await consumer.end_offsets([TopicPartition(topic, p) for p in leaders])
            busiest = max(ends, key=lambda tp: ends[tp])
            return int(leaders[busiest.partition])
        finally:
            await consumer.stop()
            await admin.close()

    return asyncio.run(ask())


def _get_json(url: str) -> Any:
    with _DIRECT.open(url, timeout=10) as response:
        return json.loads(response.read())


def _order(gateway: str, order_id: str) -> dict[str, Any] | None:
    try:
        answer = _get_json(f"{gateway}/api/orders/{order_id}")
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return answer if isinstance(answer, dict) else None


# -- targets ---------------------------------------------------------------------------


class ControlTarget:
    """A platform reached through its control socket (`sagactl run`): process kills only
    (its infrastructure belongs to that command)."""

    def __init__(self, path: Path) -> None:
        from harness.control import request

        self._path = path
        self._request = request
        status = request(path, {"op": "status"})
        self.gateway = str(status["gateway"])
        self.bootstrap = str(status["kafka"])

    def processes(self, service: str) -> list[tuple[str, int]]:
        status = self._request(self._path, {"op": "status"})
        return [
            (p["name"], int(p["pid"]))
            for p in status["processes"]
            if p["service"] == service and p["running"] and p["pid"]
        ]

    def infra(self, component: str) -> Callable[[], str] | None:
        return None


class OwnedTarget:
    """A platform and stack this process started: every fault is possible."""

    def __init__(self, platform: Any, stack: Any, *, broker_down: float = 5.0) -> None:
        self.platform = platform
        self.stack = stack
        self.gateway = platform.gateway_url
        self.bootstrap = platform.env["KAFKA_BOOTSTRAP_SERVERS"]
        self.broker_down = broker_down

    def processes(self, service: str) -> list[tuple[str, int]]:
        sup = self.platform.supervisor
        return [
            (i.name, int(sup.pid(i.name)))
            for i in self.platform.instances_of(service)
            if sup.is_running(i.name)
        ]

    def infra(self, component: str) -> Callable[[], str] | None:
        server = getattr(self.stack, component, None)
        if server is None:
            return None
        return {"kafka": self._kafka, "postgres": self._postgres, "redis": self._redis}[component]

    def _kafka(self) -> str:
        from harness.kafka import KafkaCluster

        kafka = self.stack.kafka
        if isinstance(kafka, KafkaCluster):
            node = busiest_leader(self.bootstrap)
            broker = kafka.broker(node)
            what = f"kill -9 Kafka node {node} (leader of the busiest orders.v1 partition)"
        else:
            broker, what = kafka, "kill -9 the Kafka broker"
        broker.kill()
        time.sleep(self.broker_down)
        broker.start()
        return f"{what}, restarted after {self.broker_down:.0f}s"

    def _postgres(self) -> str:
        began = time.monotonic()
        self.stack.postgres.stop()
        self.stack.postgres.start()
        return f"restart PostgreSQL (fast shutdown, down {time.monotonic() - began:.1f}s)"

    def _redis(self) -> str:
        import redis

        server = self.stack.redis
        began = time.monotonic()
        client = redis.Redis.from_url(server.url)
        try:
            client.shutdown(save=True)  # its data on disk first: Redis runs without AOF
        except redis.exceptions.ConnectionError:
            pass  # the answer to SHUTDOWN is the connection closing
        finally:
            client.close()
        server.stop(timeout=10)
        server.start()
        return f"restart Redis (SHUTDOWN SAVE, down {time.monotonic() - began:.1f}s)"
