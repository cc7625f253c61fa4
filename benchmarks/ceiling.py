"""The ceiling: the broker's own produce and consume rates, measured with Kafka's perf-test
tools (``org.apache.kafka.tools.ProducerPerformance`` / ``ConsumerPerformance``) of the
broker's version, for records the size of the saga's.

The broker's jars (``harness.jars``) do not contain the tools; ``kafka-tools`` of the
same version is fetched once from Maven Central next to them (``<cache>/kafka-<v>/tools``).
"""

from __future__ import annotations

import fcntl
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import contracts
from benchmarks.floor import ROLES, floor_topics
from contracts import topics
from harness.jars import KAFKA_VERSION, MAVEN_PLUGIN, cache_root, ensure_kafka_jars
from harness.packages import ensure
from sagactl.load import order_body, order_placed

TOPIC = "bench.ceiling.v1"
JVM_FLAGS = ("-Xms128m", "-Xmx256m")


@dataclass(frozen=True)
class OrderRecords:
    """What one order costs the broker in the floor's topology."""

    #: Records produced per order.
    produced: int
    #: Records delivered to consumers per order (one per reading service, plus the
    #: benchmark's outcome watcher).
    delivered: int
    #: Mean size of a record's value, bytes.
    mean_bytes: int


def order_records() -> OrderRecords:
    """Run one sample order through the floor's handlers, in memory, and count."""
    import random
    from datetime import UTC, datetime

    product = {"productId": "prod-001", "price": "49.995"}
    body = order_body(1, "0123abcd", [product], random.Random(1))
    body["userId"] = "user-001"
    first = order_placed(body, datetime.now(UTC))
    handlers = {name: factory() for name, factory in ROLES.items()}
    inputs = {name: {spec.name for spec in h.inputs} for name, h in handlers.items()}
    queue: list[contracts.Event] = [first]
    sizes: list[int] = []
    delivered = 0
    while queue:
        event = queue.pop(0)
        sizes.append(len(contracts.encode(event)))
        topic = contracts.TOPIC_OF[type(event)].name
        if topic == topics.OUTCOMES.name:
            delivered += 1  # the benchmark's own watcher
        for name, handler in handlers.items():
            if topic in inputs[name]:
                delivered += 1
                queue.extend(handler(event))
    return OrderRecords(len(sizes), delivered, round(sum(sizes) / len(sizes)))


def ceiling_orders_per_second(
    produce_rps: float | None, consume_rps: float | None, records: OrderRecords
) -> float | None:
    """Orders per second the broker could carry if producing and consuming were all it did:
    1 / (produced/produce_rate + delivered/consume_rate)."""
    if not produce_rps or not consume_rps:
        return None
    return round(1.0 / (records.produced / produce_rps + records.delivered / consume_rps), 1)


_PRODUCED = re.compile(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), "
                       r"([\d.]+) ms avg latency, ([\d.]+) ms max latency"
                       r"(?:, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th)?")  # fmt: skip


def parse_producer(output: str) -> dict[str, Any]:
    """The summary line of ProducerPerformance (the last one that matches)."""
    found = _PRODUCED.findall(output)
    if not found:
        return {}
    n, rps, mbps, avg, mx, p50, p95, p99 = found[-1]
    result: dict[str, Any] = {
        "records": int(n),
        "recordsPerSecond": round(float(rps), 1),
        "mbPerSecond": float(mbps),
        "avgLatencyMs": float(avg),
        "maxLatencyMs": float(mx),
    }
    if p50:
        result.update(p50Ms=int(p50), p95Ms=int(p95), p99Ms=int(p99))
    return result


def parse_consumer(output: str) -> dict[str, Any]:
    """The CSV line under ConsumerPerformance's header."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if line.startswith("start.time") and i + 1 < len(lines):
            keys = [k.strip() for k in line.split(",")]
            values = [v.strip() for v in lines[i + 1].split(",")]
            row = dict(zip(keys, values, strict=False))
            try:
                return {
                    "records": int(float(row["data.consumed.in.nMsg"])),
                    "recordsPerSecond": round(float(row["nMsg.sec"]), 1),
                    "fetchRecordsPerSecond": round(float(row["fetch.nMsg.sec"]), 1),
                    "rebalanceMs": int(float(row.get("rebalance.time.ms", 0))),
                    "mbPerSecond": float(row["MB.sec"]),
                }
            except (KeyError, ValueError):
                return {}
    return {}


def ensure_tools_jar(version: str = KAFKA_VERSION) -> Path:
    """The folder holding ``kafka-tools-<version>.jar``, fetched once with Maven."""
    home = cache_root() / f"kafka-{version}"
    tools = home / "tools"
    jar = tools / f"kafka-tools-{version}.jar"
    if jar.is_file():
        return tools
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".tools.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if jar.is_file():
            return tools
        mvn = ensure("java", "mvn")["mvn"]
        partial = Path(tempfile.mkdtemp(prefix="tools.partial-", dir=home))
        plugin = MAVEN_PLUGIN.replace(":copy-dependencies", ":copy")
        with tempfile.TemporaryDirectory(prefix="saga-kafka-tools-") as scratch:
            result = subprocess.run(
                [
                    mvn,
                    "-B",
                    "-q",
                    plugin,
                    f"-Dartifact=org.apache.kafka:kafka-tools:{version}",
                    f"-DoutputDirectory={partial}",
                ],
                cwd=scratch,
                capture_output=True,
                text=True,
                check=False,
                timeout=600,
            )
        if result.returncode != 0 or not (partial / jar.name).is_file():
            shutil.rmtree(partial, ignore_errors=True)
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
            raise RuntimeError(f"fetching kafka-tools {version} failed:\n{tail}")
        shutil.rmtree(tools, ignore_errors=True)
        partial.rename(tools)
    return tools


def run_ceiling(
    bootstrap: str, records: int, record_bytes: int, timeout: float, log_dir: Path
) -> dict[str, Any]:
    """Produce ``records`` records of ``record_bytes`` to ``TOPIC`` flat out (acks=all), then
    consume them all; returns both tools' figures. The topic must exist."""
    java = ensure("java")["java"]
    classpath = f"{ensure_tools_jar()}/*:{ensure_kafka_jars()}/*"
    jvm = [java, *JVM_FLAGS, "-cp", classpath]
    began = time.monotonic()
    produce = subprocess.run(
        [
            *jvm,
            "org.apache.kafka.tools.ProducerPerformance",
            "--topic",
            TOPIC,
            "--num-records",
            str(records),
            "--record-size",
            str(record_bytes),
            "--throughput",
            "-1",
            "--producer-props",
            f"bootstrap.servers={bootstrap}",
            "acks=all",
            "linger.ms=5",
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    (log_dir / "ceiling-producer.log").write_text(produce.stdout + produce.stderr)
    remaining = max(10.0, timeout - (time.monotonic() - began))
    consume = subprocess.run(
        [
            *jvm,
            "org.apache.kafka.tools.ConsumerPerformance",
            "--bootstrap-server",
            bootstrap,
            "--topic",
            TOPIC,
            "--messages",
            str(records),
            "--timeout",
            "30000",
            "--group",
            f"bench-ceiling-{int(time.time())}",
        ],
        capture_output=True,
        text=True,
        timeout=remaining,
        check=False,
    )
    (log_dir / "ceiling-consumer.log").write_text(consume.stdout + consume.stderr)
    return {"producer": parse_producer(produce.stdout), "consumer": parse_consumer(consume.stdout)}


def ceiling_topics(partitions: int | None = None) -> list[topics.TopicSpec]:
    spec = floor_topics("", partitions)[0]
    return [topics.TopicSpec(TOPIC, spec.partitions, {"retention.ms": str(3600 * 1000)})]
