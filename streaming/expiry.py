"""``ExpiryIndex``: which table entries of a partition may be forgotten, without a full scan."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable

from contracts.routing import partition_for


class ExpiryIndex:
    """An in-memory index of a table: per partition, which keys expire when.

    A cache of the table, not state of its own: built from the whole table by
    ``rebuild`` (on the first event after an assignment, when the table has been
    restored from its changelog), kept up to date by ``note`` for every write, and
    dropped by ``clear`` whenever the assignment changes. A key is deleted only while
    an event of its own partition is processed, so the deletion lands in the right
    changelog partition. ``due`` looks at one partition at most once per ``every``
    seconds and hands out at most ``limit`` keys at a time, so pruning costs a handler
    little.

    Keys are kept in buckets of one second: a note costs one list slot (8 bytes; the key
    object is the table's when the same ``bytes`` object is used for the write and the
    note). A key written twice sits in two buckets: the caller checks each due key's
    record and deletes it only if it has really expired (its latest write is noted in a
    later bucket otherwise).
    """

    def __init__(self, every: float = 1.0, limit: int = 1_000) -> None:
        self.every = every
        self.limit = limit
        #: partition -> second -> keys expiring within it
        self._buckets: dict[int, dict[int, list[bytes]]] = {}
        #: partition -> heap of the seconds in ``_buckets``
        self._seconds: dict[int, list[int]] = {}
        self._swept: dict[int, float] = {}
        #: Whether the index reflects the table (``rebuild`` since the last ``clear``).
        self.built = False

    def note(self, partition: int, key: bytes, at: float) -> None:
        """``key`` (written while processing an event of ``partition``) expires at ``at``."""
        second = math.ceil(at)
        buckets = self._buckets.setdefault(partition, {})
        bucket = buckets.get(second)
        if bucket is None:
            buckets[second] = bucket = []
            heapq.heappush(self._seconds.setdefault(partition, []), second)
        bucket.append(key)

    def due(self, partition: int, now: float) -> list[bytes]:
        """Keys of ``partition`` noted to expire by ``now``, taken out of the index.

        Empty when the partition was looked at less than ``every`` seconds ago. The
        caller deletes a key only if its record has expired (see the class docstring).
        """
        if now - self._swept.get(partition, -math.inf) < self.every:
            return []
        self._swept[partition] = now
        seconds, buckets = self._seconds.get(partition, []), self._buckets.get(partition, {})
        keys: list[bytes] = []
        while seconds and seconds[0] <= now and len(keys) < self.limit:
            bucket = buckets[seconds[0]]
            take = self.limit - len(keys)
            keys.extend(bucket[-take:])
            del bucket[-take:]
            if not bucket:
                del buckets[heapq.heappop(seconds)]
        return keys

    def rebuild(self, entries: Iterable[tuple[int, bytes, float]]) -> None:
        """Index ``(partition, key, expires at)`` for every entry of the table."""
        self.clear()
        for partition, key, at in entries:
            self.note(partition, key, at)
        self.built = True

    def clear(self) -> None:
        """Forget everything (the assignment changed); ``rebuild`` before the next use."""
        self._buckets.clear()
        self._seconds.clear()
        self._swept.clear()
        self.built = False

    def __len__(self) -> int:
        """How many notes are held (a key written twice counts twice)."""
        return sum(len(b) for buckets in self._buckets.values() for b in buckets.values())


def default_partition(key: bytes, partitions: int) -> int:
    """The partition aiokafka's default partitioner (murmur2) gives ``key``
    (``contracts.routing.partition_for``, the platform's one fast implementation).

    Every producer of the platform uses it, so an order's events, and hence its table
    entry, are on this partition.
    """
    return partition_for(key, partitions)
