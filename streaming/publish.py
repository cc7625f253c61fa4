"""Send contract events: key from ``contracts.key_of``, value from ``contracts.encode``."""

from __future__ import annotations

from typing import Protocol

import faust

from contracts import Event, encode, key_of


class Publish(Protocol):
    """Something that sends one event; the agents' only way out (tests pass a fake)."""

    async def __call__(self, event: Event) -> None: ...


def publisher(topic: faust.TopicT) -> Publish:
    """A ``Publish`` that sends to ``topic``, keyed by the event's order id bytes.

    The send is buffered, not flushed: the record goes out with the producer's next
    batch, and Faust flushes the producer before it commits the input's offset. The
    partition is left to the default partitioner (murmur2 of the key, like every
    other producer of the platform), so the output lands on the same partition
    number as its input.
    """

    async def publish(event: Event) -> None:
        await topic.send(key=key_of(event), value=encode(event))

    return publish
