"""Integration: a real local Kafka broker, the project's topics, and a broker restart."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.topics import ALL_TOPICS, TopicSpec
from harness.kafka import KafkaBroker
from harness.ports import is_listening
from kafka_admin.topics import PartitionMismatch, describe_topics, ensure_topics

pytestmark = pytest.mark.integration

OVERRIDES = ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "REDIS_URL")


@pytest.fixture(scope="module")
def broker() -> Iterator[KafkaBroker]:
    kafka = KafkaBroker()
    kafka.start()
    try:
        yield kafka
    finally:
        kafka.close()


def _cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in OVERRIDES}
    return {**env, **extra}


async def _read_all(bootstrap: str, topic: str, count: int, timeout: float = 30) -> list[bytes]:
    """Read ``count`` values from the start of ``topic`` (no consumer group), with a deadline."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    values: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while len(values) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            values += [record.value for records in batches.values() for record in records]
    finally:
        await consumer.stop()
    return values


def test_ensure_topics_is_idempotent_and_reports_wrong_sizes(broker: KafkaBroker) -> None:
    names = [t.name for t in ALL_TOPICS]
    assert sorted(ensure_topics(broker.bootstrap)) == sorted(names)
    assert ensure_topics(broker.bootstrap) == []

    described = {t.name: t for t in describe_topics(broker.bootstrap)}
    assert set(names) <= set(described)
    for spec in ALL_TOPICS:
        info = described[spec.name]
        assert (info.partitions, info.replication_factor) == (spec.partitions, 1)
        assert {k: info.configs[k] for k in spec.configs} == spec.configs
        assert set(spec.configs) <= info.overrides

    with pytest.raises(PartitionMismatch) as excinfo:
        ensure_topics(broker.bootstrap, partitions=3)
    assert {m.topic for m in excinfo.value.mismatches} == set(names)
    assert describe_topics(broker.bootstrap, ["orders.v1"])[0].partitions == 6


async def test_a_message_survives_a_broker_restart_on_the_same_port(broker: KafkaBroker) -> None:
    topic = f"test.restart.{uuid.uuid4().hex[:8]}"
    ensure_topics(broker.bootstrap, [TopicSpec(topic, partitions=1)])
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"order-1 placed", key=b"order-1")
    finally:
        await producer.stop()
    assert await _read_all(broker.bootstrap, topic, 1) == [b"order-1 placed"]

    bootstrap = broker.bootstrap
    await asyncio.to_thread(broker.stop)
    assert not broker.running
    assert not is_listening(broker.port)
    await asyncio.to_thread(broker.start)
    assert broker.bootstrap == bootstrap

    assert await _read_all(broker.bootstrap, topic, 1) == [b"order-1 placed"]


def test_topics_cli_creates_and_describes(broker: KafkaBroker) -> None:
    env = _cli_env(KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap)
    create = subprocess.run(
        [sys.executable, "-m", "sagactl", "topics", "create"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert create.returncode == 0, create.stderr
    describe = subprocess.run(
        [sys.executable, "-m", "sagactl", "topics", "describe"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert describe.returncode == 0, describe.stderr
    rows = {line.split()[0]: line.split() for line in describe.stdout.splitlines()[1:]}
    assert rows["orders.dlq.v1"][1:4] == ["6", "1", "-1"]


def test_topics_cli_explains_a_missing_broker() -> None:
    from harness.ports import free_port

    result = subprocess.run(
        [sys.executable, "-m", "sagactl", "topics", "describe", "--timeout", "1"],
        env=_cli_env(KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "no Kafka broker answers" in result.stderr


def test_stack_command_runs_a_command_against_a_given_broker(broker: KafkaBroker) -> None:
    probe = "import os, sys; print(os.environ['KAFKA_BOOTSTRAP_SERVERS']); sys.exit(7)"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sagactl",
            "stack",
            "--no-postgres",
            "--no-redis",
            "--",
            sys.executable,
            "-c",
            probe,
        ],
        env=_cli_env(KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 7, result.stderr
    assert result.stdout.strip() == broker.bootstrap
    assert f"export KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap}" in result.stderr
