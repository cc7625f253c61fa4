"""The platform beside its floor and its ceiling, measured in one run.

    python -m benchmarks.platform_bench [--quick]                  # starts everything itself
    python -m benchmarks.platform_bench --url URL --bootstrap HOST:PORT   # a running platform

1. The platform: its infrastructure (Kafka, PostgreSQL, Redis as local processes) and every
   service, started with the harness (``Stack`` + ``Platform``) unless ``--url`` and
   ``--bootstrap`` name a running one. ``sagactl load``'s generator places the orders and
   times each from accept to its outcome on ``orders.outcome.v1``: flat out through the
   gateway and ``--direct`` (the maximum: outcomes per second), then at 25, 50 and 80 % of
   each maximum (latency percentiles), then the read model's lag at 50 %.
2. The floor (``benchmarks.floor``): the same topology on bare aiokafka, flat out and at
   50 % of its maximum, driven by the same generator.
3. The ceiling (``benchmarks.ceiling``): Kafka's producer and consumer perf tools for
   records of the saga's mean size.

CPU per order: utime+stime (+ reaped children) of every process tree, from
``/proc/<pid>/stat`` before and after each phase, divided by the orders decided in it;
resident memory is VmRSS after the phase. Every phase has an order count and a time
bound. The figures go to ``var/bench/<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, TopicPartition

import contracts
from benchmarks import measure
from benchmarks.ceiling import (
    ceiling_orders_per_second,
    ceiling_topics,
    order_records,
    run_ceiling,
)
from benchmarks.floor import PREFIX, FloorProcesses, floor_topics
from contracts import topics
from kafka_admin.topics import delete_topics_async, ensure_topics_async
from sagactl.load import LoadPlan, outcome_name, run_load

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 32


@dataclass(frozen=True)
class Mode:
    """Order counts and time bounds of every phase."""

    name: str
    warmup: int
    flat_direct: int
    flat_gateway: int
    #: A fixed-rate phase places at most this many orders ...
    fixed_orders: int
    #: ... and no more than this many seconds' worth at its rate.
    fixed_seconds: float
    lag_orders: int
    lag_samples: int
    floor_orders: int
    ceiling_records: int
    #: Seconds to wait for the last outcomes of a phase.
    settle: float
    #: Hard bound on any one load phase.
    phase_seconds: float
    #: Restock the catalogue before each phase (long runs would sell it out).
    restock: bool


QUICK = Mode("quick", 30, 300, 200, 200, 5.0, 100, 20, 400, 50_000, 20.0, 40.0, False)
FULL = Mode("full", 100, 3000, 1500, 1500, 25.0, 600, 100, 5000, 500_000, 60.0, 120.0, True)


def log(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


class Bench:
    def __init__(
        self,
        mode: Mode,
        gateway: str,
        bootstrap: str,
        pids: Mapping[str, int],
        log_dir: Path,
        env: Mapping[str, str] | None,
    ) -> None:
        self.mode = mode
        self.gateway = gateway
        self.bootstrap = bootstrap
        self.servers = [s.strip() for s in bootstrap.split(",") if s.strip()]
        self.pids = dict(pids)
        self.log_dir = log_dir
        self.env = env
        self.phases: list[dict[str, Any]] = []
        self.rss: dict[str, float] = {}

    def restock(self) -> None:
        if not self.mode.restock or self.env is None:
            return
        subprocess.run(
            [sys.executable, "-m", "inventory", "seed"],
            cwd=ROOT,
            env={**os.environ, **self.env},
            capture_output=True,
            timeout=60,
            check=False,
        )

    async def load(
        self,
        name: str,
        orders: int,
        rate: float,
        *,
        direct: bool,
        pids: Mapping[str, int] | None = None,
        orders_topic: str = topics.ORDERS.name,
        outcomes_topic: str = topics.OUTCOMES.name,
        record: bool = True,
    ) -> dict[str, Any]:
        """One load phase; returns (and records) its row."""
        watched = self.pids if pids is None else pids
        plan = LoadPlan(orders, rate, CONCURRENCY, self.mode.settle, self.mode.phase_seconds,
                        seed=len(self.phases) + 1, direct=direct, orders_topic=orders_topic,
                        outcomes_topic=outcomes_topic)  # fmt: skip
        log(f"{name}: {orders} orders, " + (f"{rate:g}/s" if rate else "flat out"))
        cpu0, _ = measure.sample(watched)
        result = await run_load(plan, self.gateway, self.servers)
        cpu1, rss = measure.sample(watched)
        done = sum(result.outcomes.values())
        summary = result.summary()
        row = {
            "name": name,
            "target": "direct" if direct else "gateway",
            "rate": rate,
            "orders": orders,
            **summary,
            "decided": done,
            "cpuMsPerOrder": measure.cpu_ms_per_order(cpu0, cpu1, done),
            "rssMb": rss,
        }
        log(
            f"{name}: decided {done}/{orders}, {summary['throughput']}/s,"
            f" latency {summary['latencyMs']}"
            + (f", stopped early: {result.stopped_early}" if result.stopped_early else "")
        )
        if record:
            self.phases.append(row)
            if pids is None:
                self.rss = rss
        return row

    async def platform(self) -> dict[str, Any]:
        m = self.mode
        await self.load("warm-up", m.warmup, 0, direct=True, record=False)
        self.restock()
        direct = await self.load("direct flat out", m.flat_direct, 0, direct=True)
        self.restock()
        gateway = await self.load("gateway flat out", m.flat_gateway, 0, direct=False)
        maxima = {"direct": direct["throughput"], "gateway": gateway["throughput"]}
        rows = []
        for target, maximum in (("gateway", maxima["gateway"]), ("direct", maxima["direct"])):
            for fraction, rate in zip(measure.LADDER, measure.ladder(maximum), strict=True):
                self.restock()
                row = await self.load(
                    f"{target} at {int(fraction * 100)} %",
                    measure.orders_for(rate, m.fixed_orders, m.fixed_seconds),
                    rate,
                    direct=target == "direct",
                )
                rows.append({"fraction": fraction, **row})
        self.restock()
        lag, samples = await self.read_model_lag(
            measure.ladder(maxima["gateway"], (0.5,))[0], m.lag_orders, m.lag_samples
        )
        return {
            "maxima": {**maxima, "gatewayAccepted": gateway["acceptRate"]},
            "ladder": rows,
            "lag": lag,
            "lagSamples": samples,
        }

    async def read_model_lag(
        self, rate: float, orders: int, samples: int
    ) -> tuple[dict[str, float], int]:
        """Place ``orders`` through the gateway at ``rate``; for every k-th outcome seen on
        ``orders.outcome.v1`` poll ``GET /api/orders/{id}`` until it is no longer PENDING;
        the lag is that moment minus the outcome event's ``occurredAt``."""
        every = max(1, orders // max(1, samples))
        lags: list[float] = []
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.servers, enable_auto_commit=False, fetch_max_wait_ms=20
        )
        await consumer.start()
        #: Orders being polled now; an outcome seen while 4 are is not sampled (a queued
        #: sample would count its wait as lag).
        polling: set[str] = set()
        tasks: list[asyncio.Task[None]] = []
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:

            async def poll(order_id: str, decided: datetime) -> None:
                deadline = time.monotonic() + 30
                try:
                    while time.monotonic() < deadline:
                        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                            async with http.get(f"{self.gateway}/api/orders/{order_id}") as r:
                                status = (await r.json()).get("status") if r.status == 200 else None
                                if status not in (None, "PENDING"):
                                    seen = datetime.now(UTC)
                                    lags.append((seen - decided).total_seconds() * 1000)
                                    return
                        await asyncio.sleep(0.025)
                finally:
                    polling.discard(order_id)

            async def follow() -> None:
                count = 0
                while True:
                    batch = await consumer.getmany(timeout_ms=100)
                    for records in batch.values():
                        for record in records:
                            try:
                                event = contracts.decode(record.value or b"")
                            except contracts.ContractError:
                                continue
                            if outcome_name(event) is None:
                                continue
                            order_id = getattr(event, "order_id", "")
                            if not order_id.startswith("load-"):
                                continue
                            count += 1
                            due = count >= every * (len(tasks) + 1)
                            if due and len(tasks) < samples and len(polling) < 4:
                                polling.add(order_id)
                                tasks.append(asyncio.create_task(poll(order_id, event.occurred_at)))

            name = topics.OUTCOMES.name
            parts = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
            if not parts:
                await consumer._client.force_metadata_update()
                parts = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
            consumer.assign(parts)
            await consumer.seek_to_end(*parts)
            for tp in parts:
                await consumer.position(tp)
            follower = asyncio.create_task(follow())
            try:
                await self.load("read-model lag (gateway at 50 %)", orders, rate, direct=False)
                await asyncio.sleep(0.5)
            finally:
                follower.cancel()
                await asyncio.gather(follower, return_exceptions=True)
                await asyncio.wait_for(
                    asyncio.gather(*tasks, return_exceptions=True), self.mode.settle
                )
                await consumer.stop()
        self.phases[-1]["readModelLagMs"] = measure.latency_summary(lags)
        return measure.latency_summary(lags), len(lags)

    async def floor(self) -> dict[str, Any]:
        """The bare-aiokafka pipeline on ``bench.floor.*`` topics: flat out, then at 50 %."""
        await ensure_topics_async(self.bootstrap, floor_topics())
        floor = FloorProcesses(self.bootstrap, PREFIX, self.log_dir, ROOT)
        log("floor: starting 5 bare-aiokafka processes")
        await asyncio.to_thread(floor.start)
        try:
            names: dict[str, Any] = {
                "orders_topic": PREFIX + topics.ORDERS.name,
                "outcomes_topic": PREFIX + topics.OUTCOMES.name,
            }
            pids = {**floor.pids, **{k: v for k, v in self.pids.items() if k == "kafka"}}
            await self.load("floor warm-up", self.mode.warmup, 0, direct=True, pids=pids,
                            record=False, **names)  # fmt: skip
            flat = await self.load("floor flat out", self.mode.floor_orders, 0, direct=True,
                                   pids=pids, **names)  # fmt: skip
            rate = measure.ladder(flat["throughput"], (0.5,))[0]
            half = await self.load(
                "floor at 50 %",
                measure.orders_for(rate, self.mode.fixed_orders, self.mode.fixed_seconds),
                rate,
                direct=True,
                pids=pids,
                **names,
            )
        finally:
            await asyncio.to_thread(floor.stop)
        return {"max": flat["throughput"], "half": half}

    async def ceiling(self) -> dict[str, Any]:
        records = order_records()
        await ensure_topics_async(self.bootstrap, ceiling_topics())
        log(
            f"ceiling: {self.mode.ceiling_records} records of {records.mean_bytes} B"
            " with ProducerPerformance, then ConsumerPerformance"
        )
        try:
            raw = await asyncio.to_thread(
                run_ceiling,
                self.bootstrap,
                self.mode.ceiling_records,
                records.mean_bytes,
                self.mode.phase_seconds * 3,
                self.log_dir,
            )
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            log(f"ceiling: not measured: {exc}")
            raw = {"producer": {}, "consumer": {}, "error": str(exc)}
        produce = raw["producer"].get("recordsPerSecond")
        consume = raw["consumer"].get("fetchRecordsPerSecond")
        return {
            "produceRecordsPerSecond": produce,
            "consumeRecordsPerSecond": consume,
            "recordBytes": records.mean_bytes,
            "recordsPerOrder": records.produced,
            "deliveriesPerOrder": records.delivered,
            "ordersPerSecond": ceiling_orders_per_second(produce, consume, records),
            "definition": "1 / (recordsPerOrder / produce rate + deliveriesPerOrder /"
            " consume rate): the broker doing nothing but the floor's records",
            **raw,
        }

    async def cleanup(self) -> None:
        names = [spec.name for spec in floor_topics()] + [spec.name for spec in ceiling_topics()]
        try:
            await delete_topics_async(self.servers, names)
        except Exception as exc:  # best effort: the figures are already taken
            log(f"could not delete the benchmark's topics: {exc!r}")

    async def run(self) -> dict[str, Any]:
        platform = await self.platform()
        floor = await self.floor()
        ceiling = await self.ceiling()
        await self.cleanup()
        cpu_row: dict[str, Any] = next(
            (r for r in platform["ladder"] if r["target"] == "gateway" and r["fraction"] == 0.5),
            {},
        )
        cpu = cpu_row.get("cpuMsPerOrder", {})
        direct = platform["maxima"]["direct"]
        return {
            "ordersPerSecond": platform["maxima"],
            "floorOrdersPerSecond": floor["max"],
            "ceiling": ceiling,
            "ratios": {
                "platformOverFloor": measure.ratio(direct, floor["max"]),
                "platformOverCeiling": measure.ratio(direct, ceiling["ordersPerSecond"]),
                "gatewayOverFloor": measure.ratio(platform["maxima"]["gateway"], floor["max"]),
                "note": "platform = the direct maximum (no gateway), as the floor has none",
            },
            "latencyAtFractionOfMax": [
                {
                    k: r.get(k)
                    for k in ("target", "fraction", "rate", "throughput", "latencyMs", "missing")
                }
                | ({"postMs": r["postMs"]} if r["target"] == "gateway" else {})
                for r in platform["ladder"]
            ]
            + [
                {
                    "target": "floor",
                    "fraction": 0.5,
                    "rate": floor["half"]["rate"],
                    "throughput": floor["half"]["throughput"],
                    "latencyMs": floor["half"]["latencyMs"],
                    "missing": floor["half"]["missing"],
                }
            ],
            "readModelLagMs": platform["lag"],
            "readModelSamples": platform["lagSamples"],
            "cpuPhase": cpu_row.get("name", ""),
            "cpuMsPerOrder": cpu,
            "cpuMsPerOrderTotal": round(sum(cpu.values()), 2) if cpu else None,
            "floorCpuMsPerOrder": floor["half"]["cpuMsPerOrder"],
            "rssMb": self.rss,
        }


def infra_pids(stack: Any) -> dict[str, int]:
    """The broker's, PostgreSQL's and Redis's process ids of a harness ``Stack``."""
    found = {}
    for name, server in (("kafka", stack.kafka), ("postgres", stack.postgres),
                         ("redis", stack.redis)):  # fmt: skip
        process = getattr(server, "_process", None)
        if process is not None and process.pid:
            found[name] = process.pid
    return found


def control_pids(path: Path | None) -> dict[str, int]:
    """Process ids of a running `sagactl run`, from its control socket (empty if none)."""
    from harness.control import ControlError, default_path, request

    try:
        status = request(path or default_path(), {"op": "status"}, timeout=5.0)
    except (ControlError, ValueError, OSError):
        return {}
    return {p["name"]: int(p["pid"]) for p in status.get("processes", []) if p.get("pid")}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.platform_bench",
        description="Measure the platform's saga beside its floor (bare aiokafka) and its"
        " ceiling (Kafka's perf tools) in one run; write var/bench/<timestamp>.json.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a few hundred orders per phase (< 3 minutes)"
    )
    parser.add_argument("--url", help="the gateway of a running platform (with --bootstrap)")
    parser.add_argument("--bootstrap", help="the running platform's Kafka bootstrap servers")
    parser.add_argument(
        "--control",
        type=Path,
        default=None,
        help="with --url: the running platform's control socket, for its process ids",
    )
    parser.add_argument(
        "--cohost",
        action="store_true",
        help="the platform with one co-hosted worker process (`sagactl run --cohost`)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench", help="output folder")
    args = parser.parse_args(argv)
    if args.cohost and args.url:
        parser.error("--cohost starts a platform of its own: not with --url")
    if bool(args.url) != bool(args.bootstrap):
        parser.error("--url and --bootstrap go together")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mode = QUICK if args.quick else FULL
    command = shlex.join(["python", "-m", "benchmarks.platform_bench", *sys.argv[1:]])
    load_before = os.getloadavg()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out: Path = args.out
    log_dir = out / f"logs-{stamp}"
    log_dir.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with contextlib.ExitStack() as stack:
        if args.url:
            gateway, bootstrap, env = args.url.rstrip("/"), args.bootstrap, None
            pids = control_pids(args.control)
        else:
            from harness.runner import Platform, PlatformOptions
            from harness.stack import Stack

            log("starting Kafka, PostgreSQL and Redis (local processes)")
            infra = stack.enter_context(Stack(docker=False, jvm="server"))
            env = infra.env()
            os.environ.update(env)
            log(f"starting every service (logs in {log_dir})")
            options = PlatformOptions(
                port=0,
                log_dir=log_dir,
                ready_timeout=180.0,
                stream=sys.stderr,
                cohost=args.cohost,
            )
            running = stack.enter_context(Platform(env, options))
            gateway, bootstrap = running.gateway_url, env["KAFKA_BOOTSTRAP_SERVERS"]
            pids = {**infra_pids(infra), **{n: running.supervisor.pid(n) for n in running.names}}
            log(f"platform up in {time.monotonic() - began:.0f} s")
        bench = Bench(mode, gateway, bootstrap, pids, log_dir, env)
        summary = asyncio.run(bench.run())
    doc = measure.report(
        command=command,
        mode=mode.name,
        git=measure.git_commit(ROOT),
        host=measure.machine(load_before),
        phases=bench.phases,
        summary={**summary, "seconds": round(time.monotonic() - began)},
    )
    path = out / f"{stamp}.json"
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(measure.render(doc))
    print(f"\nwritten to {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    print(f"command: {command}   ({summary_seconds(began)} s)")
    return 0


def summary_seconds(began: float) -> int:
    return round(time.monotonic() - began)


if __name__ == "__main__":
    raise SystemExit(main())
