"""Send contract events: key from ``contracts.key_of``, value from ``contracts.encode``."""

from __future__ import annotations

from typing import Any, Protocol

import faust

from contracts import Event, encode, key_of
from contracts.routing import partition_for


class Publish(Protocol):
    """Something that sends one event; the agents' only way out (tests pass a fake)."""

    async def __call__(self, event: Event) -> None: ...


def publisher(topic: faust.TopicT) -> Publish:
    """A ``Publish`` that sends to ``topic``, keyed by the event's order id bytes.

    The send is buffered, not flushed: the record goes out with the producer's next
    batch, and Faust flushes the producer before it commits the input's offset. The
    partition is Kafka's default partitioner's (murmur2 of the key, like every other
    producer of the platform: ``contracts.routing.partition_for``), so the output lands
    on the same partition number as its input.

    It hands the record to the app's producer directly (``app.producer.send``), not
    through ``Topic.send``: same record, same buffering and the same flush before
    commit, without Faust's per-send message objects, sensor bookkeeping and callbacks
    (~56 µs of CPU per send against ~4 µs, measured), and with the partition computed
    by the fast murmur2 instead of aiokafka's pure-Python one. The partition count is
    the one the producer's metadata knows for the topic; before that is known (the
    first send), aiokafka's own partitioner picks the same partition.
    """
    app = topic.app
    name = topic.get_topic_name()

    async def publish(event: Event) -> None:
        key = key_of(event)
        producer = app.producer
        count = _partition_count(producer, name)
        partition = None if count is None else partition_for(key, count)
        await producer.send(name, key, encode(event), partition, None, None)

    return publish


def _partition_count(producer: Any, topic: str) -> int | None:
    """How many partitions the producer's metadata knows ``topic`` has, None if unknown."""
    client = getattr(getattr(producer, "_producer", None), "client", None)
    if client is None:
        return None
    partitions = client.cluster.partitions_for_topic(topic)
    return len(partitions) if partitions else None
