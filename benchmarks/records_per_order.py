"""Records produced per order, per topic: every event topic, every table's changelog, the
retry tiers, the DLQ, the leader topics and the consumer offsets.

    .venv/bin/python -m benchmarks.records_per_order [--orders 300 --rate 30 --idle 20]
                                                      [--cohost] [--json PATH] [--log-dir DIR]

It starts Kafka, PostgreSQL and Redis as local processes and every service (``Stack`` +
``Platform``, as ``sagactl run`` and ``benchmarks.platform_bench`` do; logs in a temporary
folder, or --log-dir), then:

1. **idle**: reads the end offset of every partition of every topic on the broker, waits
   ``--idle`` seconds with no orders and reads them again: the records each topic gets
   per second with nothing to do (deadline ticks, summaries, snapshots, offset commits);
2. **load**: ``sagactl load --direct -n ORDERS --rate RATE`` (each ``OrderPlaced``
   produced straight to ``orders.v1``), then waits until every consumer group has
   committed up to the end of every partition it reads (bounded), and reads the end
   offsets again; with every process's CPU time from ``/proc`` before and after.

It prints, per topic, the records produced during the load minus what the idle rate
accounts for over the same time, divided by the orders (``per order``), the raw count,
and the idle records per second; then the records each consumer group read per order
(its committed offsets' advance), the ``__consumer_offsets`` records of each group (read
and decoded), each process's CPU ms per order, and its CPU ms per second while idle. The
record counts do not depend on the machine (the idle part does, a little, through the
run's length); CPU does, and is only comparable between interleaved runs under the same load.
``--json PATH`` also writes the figures as JSON. Bounded: the platform's start (180 s),
the load's own bound and 120 s for the groups to catch up.
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
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition

from benchmarks import measure
from kafka_admin.client import admin, offsets_consumer
from kafka_admin.offsets import committed_offsets, group_of_record, topic_partitions

ROOT = Path(__file__).resolve().parents[1]
SAGACTL = str(Path(sys.executable).with_name("sagactl"))
#: Topics of the broker itself, counted apart.
OFFSETS_TOPIC = "__consumer_offsets"


async def end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    """The end offset of every partition of every topic on the broker."""
    async with admin(bootstrap) as client, offsets_consumer(bootstrap) as consumer:
        names = sorted(await client.list_topics())
        partitions = await topic_partitions(client, names, missing="skip")
        return dict(await consumer.end_offsets(partitions))


async def group_commits(bootstrap: str) -> dict[str, dict[TopicPartition, int]]:
    """Every consumer group's committed offsets."""
    async with admin(bootstrap) as client:
        groups = sorted(g[0] for g in await client.list_consumer_groups())
        return {g: await committed_offsets(client, g) for g in groups}


async def wait_caught_up(bootstrap: str, timeout: float) -> tuple[bool, dict[str, int]]:
    """Wait until every group's committed offsets reach the end of every partition it
    committed on; (caught up, lag left per group)."""
    deadline = time.monotonic() + timeout
    while True:
        ends = await end_offsets(bootstrap)
        commits = await group_commits(bootstrap)
        lags = {
            g: sum(max(0, ends.get(tp, off) - off) for tp, off in offsets.items())
            for g, offsets in commits.items()
        }
        behind = {g: lag for g, lag in lags.items() if lag}
        if not behind or time.monotonic() > deadline:
            return not behind, behind
        await asyncio.sleep(0.5)


def commit_key(key: bytes | None) -> tuple[str, str] | None:
    """(group, what) of a ``__consumer_offsets`` record key: an offset commit of a topic
    or the group's metadata (``kafka_admin.offsets.group_of_record``)."""
    found = group_of_record(key) if key else None
    if found is None:
        return None
    group, topic, _ = found
    return group, "group metadata" if topic is None else f"commit {topic}"


async def commit_records(
    bootstrap: str, before: dict[TopicPartition, int], after: dict[TopicPartition, int]
) -> dict[str, dict[str, int]]:
    """The records appended to ``__consumer_offsets`` between ``before`` and ``after``,
    per group and kind (commits per topic, group metadata)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    wanted = {
        tp: (before.get(tp, 0), end)
        for tp, end in after.items()
        if tp.topic == OFFSETS_TOPIC and end > before.get(tp, 0)
    }
    if not wanted:
        return {}
    async with offsets_consumer(bootstrap) as consumer:
        consumer.assign(list(wanted))
        for tp, (start, _) in wanted.items():
            consumer.seek(tp, start)
        left = dict(wanted)
        deadline = time.monotonic() + 60
        while left and time.monotonic() < deadline:
            batches = await consumer.getmany(*left, timeout_ms=1000)
            for tp, records in batches.items():
                for record in records:
                    if record.offset >= wanted[tp][1]:
                        break
                    found = commit_key(record.key)
                    if found is not None:
                        counts[found[0]][found[1]] += 1
                if records and records[-1].offset >= wanted[tp][1] - 1:
                    left.pop(tp, None)
            for tp in list(left):
                if await consumer.position(tp) >= wanted[tp][1]:
                    left.pop(tp)
    return {g: dict(kinds) for g, kinds in counts.items()}


def per_topic(offsets: dict[TopicPartition, int]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for tp, end in offsets.items():
        totals[tp.topic] += end
    return dict(totals)


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {t: after[t] - before.get(t, 0) for t in after}


def kind(topic: str) -> str:
    """events, changelog, retry/DLQ, internal (leader topics, consumer offsets)."""
    if topic == OFFSETS_TOPIC or topic.endswith("-__assignor-__leader"):
        return "internal"
    if topic.endswith("-changelog"):
        return "changelog"
    if ".retry." in topic or ".dlq." in topic:
        return "retry/DLQ"
    return "events"


def consumed(
    after: dict[str, dict[TopicPartition, int]], before: dict[str, dict[TopicPartition, int]]
) -> dict[str, dict[str, int]]:
    """Records each group read per topic (its committed offsets' advance)."""
    out: dict[str, dict[str, int]] = {}
    for group, offsets in after.items():
        rows: dict[str, int] = defaultdict(int)
        for tp, off in offsets.items():
            rows[tp.topic] += off - before.get(group, {}).get(tp, 0)
        out[group] = {t: n for t, n in rows.items() if n}
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    from harness.runner import Platform, PlatformOptions
    from harness.stack import Stack

    load_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory(prefix="records-per-order-") as scratch,
        contextlib.ExitStack() as stack,
    ):
        folder = args.log_dir or Path(scratch)
        infra = stack.enter_context(Stack(docker=False, jvm="server"))
        env = infra.env()
        os.environ.update(env)
        options = PlatformOptions(
            port=0, log_dir=Path(folder), ready_timeout=180.0, cohost=args.cohost,
            stream=open(os.devnull, "w"),  # noqa: SIM115 (closed with the process)
        )  # fmt: skip
        platform = stack.enter_context(Platform(env, options))
        bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
        pids = {n: platform.supervisor.pid(n) for n in platform.names}
        kafka = getattr(infra.kafka, "_process", None)
        if kafka is not None:
            pids["kafka"] = kafka.pid
        pids = {n: p for n, p in pids.items() if p}

        raw0 = asyncio.run(end_offsets(bootstrap))
        idle0, t0 = per_topic(raw0), time.monotonic()
        idle_cpu0, _ = measure.sample(pids)
        time.sleep(args.idle)
        idle_cpu1, _ = measure.sample(pids)
        raw1 = asyncio.run(end_offsets(bootstrap))
        idle1, t1 = per_topic(raw1), time.monotonic()
        idle_rate = {t: n / (t1 - t0) for t, n in delta(idle1, idle0).items()}

        commits0 = asyncio.run(group_commits(bootstrap))
        cpu0, _ = measure.sample(pids)
        load_started = time.monotonic()
        load = subprocess.run(
            [SAGACTL, "load", "--direct", "-n", str(args.orders), "--rate", f"{args.rate:g}",
             "--url", platform.gateway_url, "--settle", "60", "--json"],
            cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True,
            timeout=args.orders / max(args.rate, 1) + 300, check=False,
        )  # fmt: skip
        caught_up, behind = asyncio.run(wait_caught_up(bootstrap, 120))
        raw2 = asyncio.run(end_offsets(bootstrap))
        end1, t2 = per_topic(raw2), time.monotonic()
        cpu1, _ = measure.sample(pids)
        commits1 = asyncio.run(group_commits(bootstrap))
        commit_idle = asyncio.run(commit_records(bootstrap, raw0, raw1))
        commit_counts = asyncio.run(commit_records(bootstrap, raw1, raw2))
    try:
        outcome = json.loads(load.stdout)
    except ValueError:
        outcome = {"stdout": load.stdout[-2000:], "stderr": load.stderr[-2000:]}
    orders = args.orders
    seconds = t2 - load_started
    raw = delta(end1, idle1)
    topics = {}
    for topic, n in sorted(raw.items()):
        idle = idle_rate.get(topic, 0.0)
        net = n - idle * (t2 - t1)
        topics[topic] = {
            "kind": kind(topic),
            "records": n,
            "perOrder": round(net / orders, 3),
            "idlePerSecond": round(idle, 3),
        }
    return {
        "command": shlex.join(["python", "-m", "benchmarks.records_per_order", *sys.argv[1:]]),
        "git": measure.git_commit(ROOT),
        "machine": measure.machine(load_before),
        "orders": orders,
        "rate": args.rate,
        "cohost": args.cohost,
        "loadSeconds": round(seconds, 1),
        "caughtUp": caught_up,
        "behind": behind,
        "load": outcome,
        "topics": topics,
        "consumedPerOrder": {
            g: {t: round(n / orders, 3) for t, n in sorted(rows.items())}
            for g, rows in consumed(commits1, commits0).items()
            if rows
        },
        "cpuMsPerOrder": measure.cpu_ms_per_order(cpu0, cpu1, orders),
        # CPU ms per second of the idle window (the ticks, commits and timers of a platform
        # with nothing to do): cpu_ms_per_order over the window's seconds.
        "idleCpuMsPerSecond": measure.cpu_ms_per_order(idle_cpu0, idle_cpu1, round(t1 - t0)),
        "commitRecordsPerOrder": {
            g: {k: round(n / orders, 3) for k, n in sorted(kinds.items())}
            for g, kinds in sorted(commit_counts.items())
        },
        "commitRecordsIdlePerSecond": {
            g: round(sum(kinds.values()) / (t1 - t0), 2) for g, kinds in sorted(commit_idle.items())
        },
    }


def render(doc: dict[str, Any]) -> str:
    lines = [
        f"machine  {doc['machine']['cores']} cores, load before "
        + " ".join(f"{x:.2f}" for x in doc["machine"]["loadAverageBefore"])
        + f"; commit {doc['git'].get('commit', '')[:12]}"
        + (" (dirty)" if doc["git"].get("dirty") else ""),
        f"orders   {doc['orders']} at {doc['rate']:g}/s --direct"
        + (" (co-hosted workers)" if doc["cohost"] else "")
        + f"; load + catch-up {doc['loadSeconds']} s; groups caught up: {doc['caughtUp']}"
        + ("" if doc["caughtUp"] else f" (behind: {doc['behind']})"),
        f"outcomes {doc['load'].get('outcomes', doc['load'])}",
        "",
        f"{'topic':<58} {'kind':<10} {'per order':>9} {'raw':>7} {'idle/s':>7}",
    ]
    totals: dict[str, float] = defaultdict(float)
    for topic, row in sorted(doc["topics"].items(), key=lambda kv: (kv[1]["kind"], kv[0])):
        if not row["records"] and not row["idlePerSecond"]:
            continue
        totals[row["kind"]] += row["perOrder"]
        lines.append(
            f"{topic:<58} {row['kind']:<10} {row['perOrder']:>9.3f} {row['records']:>7}"
            f" {row['idlePerSecond']:>7.2f}"
        )
    lines.append("")
    for k, v in sorted(totals.items()):
        lines.append(f"  {k:<12} {v:7.2f} records per order")
    produced = sum(v for k, v in totals.items() if k != "internal")
    lines.append(f"  {'produced':<12} {produced:7.2f} records per order (all but internal)")
    lines.append("")
    lines.append("records read per order, by consumer group:")
    for group, rows in sorted(doc["consumedPerOrder"].items()):
        detail = ", ".join(f"{t} {n:g}" for t, n in rows.items())
        lines.append(f"  {group:<28} {sum(rows.values()):6.2f}  ({detail})")
    lines.append("")
    lines.append("__consumer_offsets records per order during the load, by group (idle per s):")
    idle = doc["commitRecordsIdlePerSecond"]
    for group, kinds in sorted(
        doc["commitRecordsPerOrder"].items(), key=lambda kv: -sum(kv[1].values())
    ):
        detail = ", ".join(f"{k} {n:g}" for k, n in kinds.items())
        lines.append(
            f"  {group:<28} {sum(kinds.values()):7.3f}  ({idle.get(group, 0)}/s; {detail})"
        )
    cpu = doc["cpuMsPerOrder"]
    lines.append("")
    lines.append(
        "CPU ms per order: "
        + ", ".join(f"{n} {v:.2f}" for n, v in sorted(cpu.items(), key=lambda kv: -kv[1]))
        + f"; total {sum(cpu.values()):.1f}"
    )
    idle_cpu = doc["idleCpuMsPerSecond"]
    lines.append(
        "idle CPU ms per second: "
        + ", ".join(f"{n} {v:.1f}" for n, v in sorted(idle_cpu.items(), key=lambda kv: -kv[1]))
        + f"; total {sum(idle_cpu.values()):.1f}"
    )
    lines.append(f"command: {doc['command']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.records_per_order")
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--rate", type=float, default=30.0, help="orders per second (direct)")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of the idle window")
    parser.add_argument("--cohost", action="store_true", help="`sagactl run --cohost`")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--log-dir", type=Path, help="keep every process's log here")
    args = parser.parse_args(argv)
    doc = run(args)
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(render(doc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
