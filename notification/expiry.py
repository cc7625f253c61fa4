"""``ExpiryIndex``: which table entries of a partition may be forgotten, without a full scan.

The same as ``payment.expiry`` (services share no code; a candidate for ``streaming``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from itertools import islice

from aiokafka.partitioner import murmur2


class ExpiryIndex:
    """An in-memory index of a table: per partition, when each key may be deleted.

    A cache of the table, not state of its own: built from the whole table by
    ``rebuild`` (on the first event after an assignment, when the table has been
    restored from its changelog), kept up to date by ``note`` for every write, and
    dropped by ``clear`` whenever the assignment changes. A key is deleted only while
    an event of its own partition is processed, so the deletion lands in the right
    changelog partition. ``due`` scans one partition at most once per ``every`` seconds
    and hands out at most ``limit`` keys at a time, so pruning costs a handler little.

    Each entry is a dict slot and a float (~100 bytes); the key object itself is the
    table's when the same ``bytes`` object is used for the table write and the ``note``.
    """

    def __init__(self, every: float = 1.0, limit: int = 1_000) -> None:
        self.every = every
        self.limit = limit
        #: partition -> key -> when it may be deleted (a POSIX timestamp)
        self._at: dict[int, dict[bytes, float]] = {}
        self._swept: dict[int, float] = {}
        #: Whether the index reflects the table (``rebuild`` since the last ``clear``).
        self.built = False

    def note(self, partition: int, key: bytes, at: float) -> None:
        """``key`` (written while processing an event of ``partition``) expires at ``at``."""
        self._at.setdefault(partition, {})[key] = at

    def due(self, partition: int, now: float) -> list[bytes]:
        """Keys of ``partition`` expired by ``now``, taken out of the index.

        Empty when the partition was swept less than ``every`` seconds ago. The caller
        checks each key's record again before deleting it, and notes it anew if it is
        not expired after all.
        """
        if now - self._swept.get(partition, -math.inf) < self.every:
            return []
        self._swept[partition] = now
        entries = self._at.get(partition)
        if not entries:
            return []
        keys = list(islice((key for key, at in entries.items() if at <= now), self.limit))
        for key in keys:
            del entries[key]
        return keys

    def rebuild(self, entries: Iterable[tuple[int, bytes, float]]) -> None:
        """Index ``(partition, key, expires at)`` for every entry of the table."""
        self.clear()
        for partition, key, at in entries:
            self.note(partition, key, at)
        self.built = True

    def clear(self) -> None:
        """Forget everything (the assignment changed); ``rebuild`` before the next use."""
        self._at.clear()
        self._swept.clear()
        self.built = False

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._at.values())


def default_partition(key: bytes, partitions: int) -> int:
    """The partition aiokafka's default partitioner (murmur2) gives ``key``.

    Every producer of the platform uses it, so an order's events, and hence its table
    entry, are on this partition.
    """
    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions
