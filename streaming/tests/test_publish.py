"""``publisher`` hands each event to the app's producer with the partition Kafka's
default partitioner would choose."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from aiokafka.partitioner import murmur2

from contracts import decode, key_of
from streaming.publish import publisher
from streaming.tests.test_guard_failures import placed


class FakeProducer:
    def __init__(self, partitions: int | None) -> None:
        known = {"payments.v1": set(range(partitions))} if partitions else {}
        cluster = SimpleNamespace(partitions_for_topic=known.get)
        self._producer = SimpleNamespace(client=SimpleNamespace(cluster=cluster))
        self.sent: list[tuple[Any, ...]] = []

    async def send(self, *args: Any) -> None:
        self.sent.append(args)


def topic_of(producer: FakeProducer) -> Any:
    return SimpleNamespace(
        app=SimpleNamespace(producer=producer), get_topic_name=lambda: "payments.v1"
    )


async def test_the_partition_is_murmur2_of_the_key_over_the_known_count() -> None:
    producer = FakeProducer(partitions=6)
    event = placed()
    await publisher(topic_of(producer))(event)
    [(topic, key, value, partition, timestamp, headers)] = producer.sent
    assert (topic, key, timestamp, headers) == ("payments.v1", key_of(event), None, None)
    assert decode(value) == event
    assert partition == (murmur2(key) & 0x7FFFFFFF) % 6


async def test_before_the_metadata_is_known_aiokafka_chooses() -> None:
    producer = FakeProducer(partitions=None)
    await publisher(topic_of(producer))(placed())
    assert producer.sent[0][3] is None


def test_murmur2_is_aiokafkas_for_many_keys() -> None:
    import os
    import uuid

    from aiokafka.partitioner import murmur2 as aiokafka_murmur2

    from contracts.routing import murmur2, partition_for

    rng = __import__("random").Random(596)
    keys = [bytes(rng.getrandbits(8) for _ in range(n)) for n in range(0, 96) for _ in range(60)]
    keys += [str(uuid.UUID(int=rng.getrandbits(128))).encode() for _ in range(3000)]
    keys += [b"", b"a", b"ab", b"abc", b"\xff" * 7, os.urandom(1000)]
    for key in keys:
        assert murmur2(key) == aiokafka_murmur2(key), key
        for partitions in (1, 6, 7, 12):
            expected = (aiokafka_murmur2(key) & 0x7FFFFFFF) % partitions
            assert partition_for(key, partitions) == expected
