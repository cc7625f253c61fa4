"""Measure one Faust hop (event in -> reaction out): ``python -m benchmarks.bench_hop``.

Not a test (pytest does not collect it): a tool to see where a hop's latency goes. Run it
against a real broker, e.g.::

    .venv/bin/sagactl stack --no-postgres -- .venv/bin/python -m benchmarks.bench_hop

It creates two fresh 6-partition topics, starts a worker subprocess (``--worker faust``:
``streaming.create_app`` + ``EventGuard`` + ``publisher``, an echo agent that publishes
each ``OrderPlaced`` it reads to the output topic, with ``failure_handling`` like a real
worker; ``--worker plain``: the same echo with bare aiokafka, the floor), waits until an
echo comes back, then runs each ``--phase RATE:COUNT`` (RATE orders/s, 0 = as fast as
possible), timing each order from just before its send to its echo's arrival. It prints
p50/p90/p99/max per phase, the throughput, and the split at the echo's record timestamp
(set by the worker's producer when the handler sends it, ms resolution): *in* = bench
send -> handler's send, *out* = handler's send -> bench receipt. Then it stops the worker
and deletes its topics. Every phase is bounded by ``--phase-timeout`` seconds.

Variants, one at a time (each goes to the worker):

- ``--set NAME=VALUE``: a Faust setting over ``create_app``'s (``producer_linger=0.005``,
  ``broker_commit_every=100``, ``stream_buffer_maxsize=100``; VALUE is a Python literal);
- ``--fetch-max-wait-ms N``: the consumer's ``fetch_max_wait_ms`` (Faust hard-codes 1500);
- ``--no-shield``: the guard awaits the handler directly (no task + shield per event);
- ``--send-soon``: publish with ``Topic.send_soon`` (Faust's producer buffer) instead of
  ``await topic.send``;
- ``--table``: the handler also writes a table entry (a changelog send) per event;
- ``--no-failures``: the guard without retry tiers / DLQ (no retry agents);
- ``--no-monitor``: Faust's Monitor sensor without its per-message bookkeeping;
- ``--event-loop asyncio|uvloop``: the worker's ``EVENT_LOOP`` (default: the
  environment's, else uvloop; ``config.event_loop``);
- ``--stats``: the worker logs its produce requests and fetches every 2 s (in its log).

Each phase also prints the worker's CPU time per event and its context switches per
event (``/proc``), which vary less than latencies on a shared machine. The worker logs
at INFO like the platform's workers: with ``-l warn`` Faust's progress spinner sets the
root logger to DEBUG, and every debug call in Faust and aiokafka builds a log record
(12 % of the worker's busy time, measured).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

from config import event_loop
from config.env import EVENT_LOOPS, load

ROOT = Path(__file__).resolve().parents[1]
PARTITIONS = 6


# -- the worker (subprocess) ---------------------------------------------------------------


def run_faust_worker(args: argparse.Namespace) -> None:
    """Build and run the echo worker the way every platform worker is built."""
    import faust

    import streaming.guard
    from config.env import load
    from contracts import OrderPlaced, encode, key_of
    from contracts.topics import TopicSpec
    from streaming import (
        EventGuard,
        StreamingSettings,
        bind,
        create_app,
        publisher,
        route_failures,
        run,
    )

    if args.fetch_max_wait_ms is not None:
        import aiokafka
        from faust.transport.drivers import aiokafka as driver

        wait_ms = args.fetch_max_wait_ms

        class Consumer(aiokafka.AIOKafkaConsumer):  # type: ignore[misc]
            def __init__(self, *a: object, **kw: object) -> None:
                if "group_id" in kw:  # the worker's consumer, not a client-only one
                    kw["fetch_max_wait_ms"] = wait_ms
                super().__init__(*a, **kw)

        driver.aiokafka.AIOKafkaConsumer = Consumer  # type: ignore[misc]

    if args.no_shield:

        async def direct(work):  # type: ignore[no-untyped-def]
            await work

        streaming.guard.to_completion = direct  # type: ignore[assignment]

    overrides: dict[str, object] = dict(parse_setting(s) for s in args.set)
    if args.no_monitor:
        from faust.sensors import Monitor

        class QuietMonitor(Monitor):
            """Faust's Monitor without its per-message bookkeeping."""

            def on_message_in(self, *a, **kw): ...  # type: ignore[no-untyped-def]
            def on_stream_event_in(self, *a, **kw): ...  # type: ignore[no-untyped-def]
            def on_stream_event_out(self, *a, **kw): ...  # type: ignore[no-untyped-def]
            def on_message_out(self, *a, **kw): ...  # type: ignore[no-untyped-def]
            def on_send_initiated(self, *a, **kw): ...  # type: ignore[no-untyped-def]
            def on_send_completed(self, *a, **kw): ...  # type: ignore[no-untyped-def]
            def on_table_get(self, *a, **kw): ...  # type: ignore[no-untyped-def]
            def on_table_set(self, *a, **kw): ...  # type: ignore[no-untyped-def]
            def track_tp_end_offset(self, *a, **kw): ...  # type: ignore[no-untyped-def]

        overrides["monitor"] = QuietMonitor()
    platform, worker = load(), StreamingSettings.from_env(args.group)
    app = create_app(args.group, platform, worker, **overrides)
    source = bind(app, TopicSpec(args.input))
    out = bind(app, TopicSpec(args.output))
    table = app.Table("bench_table", partitions=PARTITIONS, key_type=bytes, value_type=bytes)

    if args.send_soon:

        async def emit(event: OrderPlaced) -> None:
            out.send_soon(key=key_of(event), value=encode(event))

    else:
        emit = publisher(out)  # type: ignore[assignment]

    async def handle(event: OrderPlaced) -> None:
        if args.table:
            table[key_of(event)] = b"x"
        await emit(event)

    failures = None if args.no_failures else route_failures(app, platform, worker)
    guard = EventGuard("echo", {OrderPlaced: handle}, failures=failures)

    async def echo(stream: faust.StreamT[bytes]):  # type: ignore[no-untyped-def]
        async for outcome in guard.process(stream):
            yield outcome

    app.agent(source, name="echo")(echo)
    if args.stats:
        install_stats(app)
    run(app, ["worker", "--loglevel", args.loglevel])


def install_stats(app) -> None:  # type: ignore[no-untyped-def]
    """Log, every 2 s, the produce requests sent and the consumer's fetches so far."""
    import logging

    from aiokafka.producer.sender import Sender
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    counts = {"produce_requests": 0, "batches": 0, "getmany": 0, "records": 0}
    send_req = Sender._send_produce_req

    async def counted_send(self, node_id, batches):  # type: ignore[no-untyped-def]
        counts["produce_requests"] += 1
        counts["batches"] += len(batches)
        return await send_req(self, node_id, batches)

    Sender._send_produce_req = counted_send  # type: ignore[method-assign]
    fetch = AIOKafkaConsumerThread._fetch_records

    async def counted_fetch(self, *a, **kw):  # type: ignore[no-untyped-def]
        records = await fetch(self, *a, **kw)
        counts["getmany"] += 1
        counts["records"] += sum(len(r) for r in records.values())
        return records

    AIOKafkaConsumerThread._fetch_records = counted_fetch  # type: ignore[method-assign]

    @app.timer(2.0)
    async def report() -> None:
        logging.getLogger("bench_hop").warning("stats %s", counts)


async def run_plain_worker(args: argparse.Namespace) -> None:
    """The floor: consume, decode, encode and send with bare aiokafka (no Faust)."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    from contracts import decode, encode, key_of

    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    consumer = AIOKafkaConsumer(
        args.input,
        bootstrap_servers=bootstrap,
        group_id=args.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=args.fetch_max_wait_ms or 1500,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=1)
    await consumer.start()
    await producer.start()
    try:
        last_commit = time.monotonic()
        while True:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    event = decode(record.value)
                    await producer.send(args.output, encode(event), key=key_of(event))
            if time.monotonic() - last_commit > 2.8:
                await producer.flush()
                await consumer.commit()
                last_commit = time.monotonic()
    finally:
        await producer.stop()
        await consumer.stop()


def parse_setting(text: str) -> tuple[str, object]:
    name, _, raw = text.partition("=")
    try:
        value: object = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return name.strip(), value


# -- the bench (parent) --------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def fmt(values: list[float]) -> str:
    s = sorted(values)
    return (
        f"p50 {percentile(s, 0.5):7.1f}  p90 {percentile(s, 0.9):7.1f}  "
        f"p99 {percentile(s, 0.99):7.1f}  max {s[-1] if s else float('nan'):7.1f} ms"
    )


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def context_switches(pid: int) -> tuple[int, int]:
    """Voluntary (the process waited) and involuntary (preempted) switches, all threads."""
    voluntary = involuntary = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        with contextlib.suppress(OSError):
            for line in status.read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    voluntary += int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches:"):
                    involuntary += int(line.split()[1])
    return voluntary, involuntary


class Bench:
    def __init__(self, args: argparse.Namespace, bootstrap: str) -> None:
        self.args = args
        self.bootstrap = bootstrap
        run_id = uuid.uuid4().hex[:8]
        self.group = f"bench-hop-{run_id}"
        self.input = f"bench.hop.{run_id}.in"
        self.output = f"bench.hop.{run_id}.out"
        self.sent: dict[bytes, float] = {}
        self.received: dict[bytes, tuple[float, int]] = {}
        self.arrived = asyncio.Event()

    def payload(self, prefix: str, i: int) -> tuple[bytes, bytes]:
        from contracts import OrderLine, OrderPlaced, encode, key_of

        oid = f"{prefix}-{i}-{uuid.uuid4().hex[:8]}"
        placed = OrderPlaced(
            order_id=oid,
            correlation_id=oid,
            user_id=f"user-{i % 97}",
            currency="EUR",
            amount=Decimal("42.50"),
            items=(OrderLine(product_id="p-1", quantity=1, unit_price=Decimal("42.50")),),
        )
        return key_of(placed), encode(placed)

    async def consume(self, consumer) -> None:  # type: ignore[no-untyped-def]
        while True:
            batch = await consumer.getmany(timeout_ms=200)
            now = time.time()
            for records in batch.values():
                for record in records:
                    if record.key in self.sent and record.key not in self.received:
                        self.received[record.key] = (now, record.timestamp)
            if batch:
                self.arrived.set()

    async def wait_for(self, keys: list[bytes], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(k in self.received for k in keys):
                return True
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), 0.5)
        return all(k in self.received for k in keys)

    async def phase(self, producer, rate: float, count: int, worker_pid: int) -> dict:  # type: ignore[no-untyped-def]
        label = "max" if rate <= 0 else f"{rate:g}/s"
        payloads = [self.payload(f"r{rate:g}", i) for i in range(count)]
        keys = [k for k, _ in payloads]
        cpu0 = cpu_seconds(worker_pid)
        switches0 = context_switches(worker_pid)
        start = time.time()
        for i, (key, value) in enumerate(payloads):
            if rate > 0:
                due = start + i / rate
                delay = due - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            self.sent[key] = time.time()
            await producer.send(self.input, value, key=key)
        sent_in = time.time() - start
        complete = await self.wait_for(keys, self.args.phase_timeout)
        cpu1 = cpu_seconds(worker_pid)
        switches1 = context_switches(worker_pid)
        got = [k for k in keys if k in self.received]
        total = [(self.received[k][0] - self.sent[k]) * 1000 for k in got]
        inward = [self.received[k][1] - self.sent[k] * 1000 for k in got]
        outward = [self.received[k][0] * 1000 - self.received[k][1] for k in got]
        last = max((self.received[k][0] for k in got), default=start)
        elapsed = last - start
        print(
            f"phase {label:>7} n={count:<6} echoed {len(got)}/{count}"
            f"{'' if complete else ' (TIMED OUT)'}  sent in {sent_in:.2f}s  "
            f"throughput {len(got) / elapsed if elapsed > 0 else float('nan'):7.0f}/s  "
            f"worker cpu {cpu1 - cpu0:.2f}s ({(cpu1 - cpu0) / max(1, len(got)) * 1e3:.2f} ms/event)"
            f"  rss {rss_mib(worker_pid):.0f} MiB"
        )
        print(
            "   worker context switches per event: voluntary "
            f"{(switches1[0] - switches0[0]) / max(1, len(got)):.2f}, involuntary "
            f"{(switches1[1] - switches0[1]) / max(1, len(got)):.2f}"
        )
        print(f"   hop (send->echo) {fmt(total)}")
        print(f"   in  (send->handler's send) {fmt(inward)}")
        print(f"   out (handler's send->echo) {fmt(outward)}")
        return {"label": label, "total": total}

    def worker_command(self) -> list[str]:
        args = self.args
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.bench_hop",
            "worker",
            "--kind",
            args.worker,
            "--group",
            self.group,
            "--input",
            self.input,
            "--output",
            self.output,
            "--loglevel",
            args.loglevel,
        ]
        for setting in args.set:
            cmd += ["--set", setting]
        if args.fetch_max_wait_ms is not None:
            cmd += ["--fetch-max-wait-ms", str(args.fetch_max_wait_ms)]
        for flag in (
            "no_shield",
            "send_soon",
            "table",
            "no_failures",
            "no_monitor",
            "stats",
        ):
            if getattr(args, flag):
                cmd.append("--" + flag.replace("_", "-"))
        return cmd

    async def run(self) -> int:
        from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

        from contracts.topics import TopicSpec
        from kafka_admin.topics import delete_topics_async, ensure_topics_async, list_topics_async

        await ensure_topics_async(
            self.bootstrap, [TopicSpec(self.input), TopicSpec(self.output)], PARTITIONS
        )
        log = Path(tempfile.gettempdir()) / f"{self.group}.log"
        cmd = self.worker_command()
        print("worker:", " ".join(cmd[2:]), f"(log {log})")
        with log.open("wb") as log_file:
            env = dict(os.environ)
            if self.args.event_loop:
                env["EVENT_LOOP"] = self.args.event_loop
            worker = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
            )
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=0, acks=1)
        await consumer.start()
        await producer.start()
        consumer.assign([TopicPartition(self.output, p) for p in range(PARTITIONS)])
        await consumer.seek_to_beginning()
        reader = asyncio.create_task(self.consume(consumer))
        try:
            ready = time.monotonic()
            warm: list[bytes] = []
            while time.monotonic() - ready < self.args.start_timeout:
                if worker.poll() is not None:
                    print(f"worker exited with {worker.returncode}; see {log}")
                    return 1
                key, value = self.payload("warm", len(warm))
                self.sent[key] = time.time()
                await producer.send_and_wait(self.input, value, key=key)
                warm.append(key)
                if await self.wait_for([key], 0.5):
                    break
            else:
                print(f"no echo within {self.args.start_timeout}s; see {log}")
                return 1
            # every warm-up order answered, then a few seconds for the group to settle
            await self.wait_for(warm, 30)
            print(f"worker ready after {time.monotonic() - ready:.1f}s")
            await asyncio.sleep(self.args.settle)
            for spec in self.args.phase:
                rate, _, count = spec.partition(":")
                await self.phase(producer, float(rate), int(count), worker.pid)
                await asyncio.sleep(1)
            return 0
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            await producer.stop()
            await consumer.stop()
            worker.terminate()
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            names = [
                t
                for t in await list_topics_async(self.bootstrap)
                if t in (self.input, self.output) or t.startswith(self.group)
            ]
            await delete_topics_async(self.bootstrap, names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    w = sub.add_parser("worker", help="(internal) the echo worker")
    w.add_argument("--kind", choices=("faust", "plain"), default="faust")
    w.add_argument("--group", required=True)
    w.add_argument("--input", required=True)
    w.add_argument("--output", required=True)
    for p in (parser, w):
        p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
        p.add_argument("--fetch-max-wait-ms", type=int)
        p.add_argument("--no-shield", action="store_true")
        p.add_argument("--send-soon", action="store_true")
        p.add_argument("--table", action="store_true")
        p.add_argument("--no-failures", action="store_true")
        p.add_argument("--no-monitor", action="store_true")
        p.add_argument("--stats", action="store_true", help="log request counts (worker log)")
        p.add_argument("--loglevel", default="info")
    parser.add_argument("--worker", choices=("faust", "plain"), default="faust")
    parser.add_argument(
        "--event-loop",
        choices=EVENT_LOOPS,
        help="the worker's EVENT_LOOP (default: the environment's, else uvloop)",
    )
    parser.add_argument(
        "--phase",
        action="append",
        metavar="RATE:COUNT",
        help="orders/s (0: as fast as possible) and how many; default 20:200 500:5000 0:20000",
    )
    parser.add_argument("--phase-timeout", type=float, default=60.0)
    parser.add_argument("--start-timeout", type=float, default=90.0)
    parser.add_argument("--settle", type=float, default=3.0)
    args = parser.parse_args(argv)
    if args.command == "worker":
        if args.kind == "plain":
            event_loop.run(run_plain_worker(args), load().event_loop)
        else:
            run_faust_worker(args)
        return 0
    args.phase = args.phase or ["20:200", "500:5000", "0:20000"]
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        print("KAFKA_BOOTSTRAP_SERVERS is not set: run it under `sagactl stack -- ...`")
        return 2
    print(
        "command:",
        " ".join(
            [Path(sys.executable).name, "-m", "benchmarks.bench_hop"]
            + (argv if argv is not None else sys.argv[1:])
        ),
    )
    return asyncio.run(Bench(args, bootstrap).run())


if __name__ == "__main__":
    sys.exit(main())
