"""Which of a group's partitions have lag, and how much: pure, so it is tested alone.

A group's lag counts only the topics it consumes and commits. Faust also assigns each
member the changelog partitions of its tables (``<group>-<table>-changelog``) and its
leader topic (``<group>-__assignor-__leader``): the group never commits those, they are
read to restore state, so their end offset is the size of that state, never lag.
"""

from __future__ import annotations

#: Topic name endings of Kafka Streams / Faust internal topics.
INTERNAL_SUFFIXES = ("-changelog", "-repartition", "__assignor-__leader")


def is_internal(topic: str) -> bool:
    """A topic the group keeps state in (or the broker's own, ``__consumer_offsets``)."""
    return topic.startswith("__") or topic.endswith(INTERNAL_SUFFIXES)


def partition_lag(topic: str, committed: int | None, end: int | None) -> int | None:
    """Records of ``topic``'s partition the group has not consumed yet: the end offset
    minus the committed one (nothing committed: everything). None for an internal topic
    (not lag) or an end offset the broker did not give."""
    if is_internal(topic) or end is None:
        return None
    return max(0, end - max(committed if committed is not None else 0, 0))
