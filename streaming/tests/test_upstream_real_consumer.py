"""The #596 commit watchdog against a real Faust consumer and broker: the private
attributes it reads exist on a running consumer, and ``snapshot`` follows the commits."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaProducer

from config.env import PlatformSettings
from streaming import create_app
from streaming.upstream import commit_watchdog
from tests.support import eventually_async

pytestmark = pytest.mark.integration


async def test_snapshot_reads_a_running_consumer(stack_env: dict[str, str]) -> None:
    bootstrap = stack_env["KAFKA_BOOTSTRAP_SERVERS"]
    name = f"watchdog-test-{uuid.uuid4().hex[:8]}"
    app = create_app(
        name,
        PlatformSettings(kafka_bootstrap_servers=bootstrap, topic_partitions=1),
        broker_commit_every=1,
        broker_commit_interval=0.2,
    )
    # Faust creates the topic (internal=True): the test needs nothing else on the broker.
    topic = app.topic(name, partitions=1, internal=True, key_type=bytes, value_type=bytes)
    seen: list[bytes] = []

    @app.agent(topic, name="count")
    async def count(stream):  # type: ignore[no-untyped-def]
        async for value in stream:
            seen.append(value)

    await app.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        consumer = app.consumer
        for attribute in commit_watchdog.CONSUMER_ATTRIBUTES:
            assert hasattr(consumer, attribute), attribute
        await _until(lambda: bool(consumer.assignment()), "partition assigned")
        await producer.start()
        for n in range(3):
            await producer.send_and_wait(name, f"m{n}".encode(), key=b"k", partition=0)
        await _until(lambda: len(seen) == 3, "3 messages processed")

        def committed_to_the_end() -> bool:
            seen_now = commit_watchdog.snapshot(app)
            part = next(s for tp, s in seen_now.items() if tp.topic == name)
            return part.committed == 3 and part.highwater == 3

        await _until(committed_to_the_end, "offset 3 committed")
        [(tp, part)] = [(tp, s) for tp, s in commit_watchdog.snapshot(app).items()]
        assert (tp.topic, tp.partition) == (name, 0)
        assert part.read == 2
        assert part.gap is None and part.hole is None and part.idle_behind is None
        assert part.in_flight == ()
    finally:
        await producer.stop()
        await app.stop()


async def _until(condition, what: str, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    async def check() -> bool:
        return bool(condition())

    await eventually_async(what, check, timeout=timeout, interval=0.2)
