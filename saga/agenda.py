"""``Agenda``: which orders of a partition a tick must visit, without reading them all."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from saga.domain import Decided, SagaState, Timing, due_at


class Agenda:
    """An in-memory index of the saga table: per partition, when each order is due.

    ``domain.tick`` changes an order only at its ``due_at`` time, or when the tick is
    the redelivered event that decided it. So a tick of partition p visits the orders
    of p that are due by then or were decided by that tick, and nothing else.

    The index is a cache of the table, not state of its own: a partition's index is
    built from the table by ``rebuild`` (on the partition's first tick), kept up to
    date by ``note`` for every write, and dropped by ``clear`` whenever the worker's
    assignment changes (the table is then restored from its changelog).

    It also says when a partition needs a tick at all (``wants_tick``): only while its
    index is not built, or once one of its orders is due. So an idle saga publishes no
    ticks, and a busy one about one per partition per interval while orders come due.
    """

    def __init__(self, timing: Timing) -> None:
        self.timing = timing
        #: partition -> order key -> (due time as a timestamp, id of the deciding event)
        self._due: dict[int, dict[bytes, tuple[float, str | None]]] = {}
        #: partition -> a time no later than its earliest due entry (inf: none)
        self._next: dict[int, float] = {}

    def has(self, partition: int) -> bool:
        """Whether ``partition``'s index is built."""
        return partition in self._due

    def rebuild(self, partition: int, states: Iterable[tuple[bytes, SagaState]]) -> None:
        """Index the states of ``partition`` among ``states`` (the whole table)."""
        self._due[partition] = {}
        self._next[partition] = math.inf
        for key, state in states:
            if state.partition == partition:
                self.note(key, state)

    def note(self, key: bytes, state: SagaState | None, partition: int | None = None) -> None:
        """Record what was written for ``key``: its new state, or ``None`` once deleted.

        ``partition`` is needed for a deletion only (the state is gone). Writes to a
        partition whose index is not built are left to its ``rebuild``.
        """
        part = state.partition if state is not None else partition
        if part is None:
            return
        entries = self._due.get(part)
        if entries is None:
            return
        if state is None:
            entries.pop(key, None)
            return
        cause = state.outcome.causation_id if isinstance(state, Decided) else None
        at = due_at(state, self.timing).timestamp()
        entries[key] = (at, cause)
        if at < self._next.get(part, math.inf):
            self._next[part] = at

    def due(self, partition: int, now: datetime, cause: str) -> list[bytes]:
        """The orders of ``partition`` due at ``now``, or decided by the event ``cause``.

        It also recomputes the partition's earliest due time. The orders it returns are
        still due until the tick's writes note them again, so the partition wants one
        more tick, which then finds their new times.
        """
        limit = now.timestamp()
        entries = self._due.get(partition, {})
        found, earliest = [], math.inf
        for key, (at, by) in entries.items():
            if at <= limit or by == cause:
                found.append(key)
            earliest = min(earliest, at)
        if partition in self._due:
            self._next[partition] = earliest
        return found

    def wants_tick(self, partition: int, now: datetime) -> bool:
        """Whether a tick of ``partition`` at ``now`` may have work: its index is not
        built yet (the tick builds it), or an order of it is due by ``now``."""
        if partition not in self._due:
            return True
        return self._next.get(partition, math.inf) <= now.timestamp()

    def clear(self) -> None:
        """Forget every partition's index (the assignment changed)."""
        self._due.clear()
        self._next.clear()

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._due.values())
