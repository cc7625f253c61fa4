"""What the gateway's projector consumes: its consumer group, its topics, and a record as
read (``Seen``).

Below the apps: the projector (``gateway.projector``) folds these records into the
apps' read models, the apps that store them take ``Seen`` (orders' timelines, operations'
dead letters), and operations' metrics report the group's lag, none of them importing
the projector.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts import AnyEvent, topics

GROUP = "projector"

#: Every order event, the stock levels for the catalog, the analytics snapshots, and the
#: dead letters.
TOPICS = [
    t.name
    for t in (*topics.SAGA_TOPICS, topics.STOCK, topics.SNAPSHOTS, topics.DLQ, *topics.RETRY_TIERS)
]
#: Their records are the original bytes of a failed message: noted, never projected.
RETRY_TOPICS = frozenset(t.name for t in topics.RETRY_TIERS)


@dataclass(frozen=True)
class Seen:
    """An event as consumed: where it sat in Kafka."""

    topic: str
    partition: int
    offset: int
    event: AnyEvent
