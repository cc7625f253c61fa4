"""Workaround for faust-streaming issue #596: un-stick a partition whose offset commits
stopped behind messages never processed.

Faust 0.15.3 commits a partition's offset only up to the first offset not yet acked
(``Consumer._new_offset``). A race in its recovery (faust-streaming issue #596) can
drop messages already fetched from the stream queues when a rebalance or recovery
completes, while the fetch position moves on: those offsets are never processed nor
acked, so the partition's committed offset stops there for good, its lag grows, and
the dropped messages are only processed after a restart. Seen here: a payment worker
restarted after its offsets were reset processed everything behind a hole of ~17
offsets per partition and never committed again. A second cause, seen during broker
outages: ``Consumer._new_offset`` removes the acks it is about to commit from ``_acked``
before the commit is sent, so a commit that fails (the broker is down, the member was
evicted) loses those acks; the next commit then finds a hole at the committed offset
although the messages were processed, and stops there too.

The watchdog looks at every assigned partition every few seconds. A partition is
stalled when the message at its committed offset is neither acked nor in flight
while later offsets are acked (or, with nothing acked, while the whole partition has
been read: the dropped messages were its last), and still so at the next look; or
when that gap stays the same for 30 s even though Faust counts one of its messages as
in flight (a dropped message can stay in Faust's in-flight set). The partitions of a
retry tier are left alone while the tier's one agent waits on a record: the others'
records queue behind it. Then every partition is re-read from its committed offset
(``DirectDeliveryConsumer.reseek``; a seek of the stalled one alone would lose the other
partitions' messages of the batch it interrupts): the dropped messages are processed
(every handler is idempotent, so re-reading what was already processed changes
nothing), and commits resume. Each heal is logged with the hole it fills.

It reads Faust's consumer bookkeeping (``_committed_offset``, ``_acked``,
``_read_offset``, ``_unacked_messages``, ``_gap``, ``_active_partitions``): private
attributes of the exact Faust version this project pins. ``install`` checks that version
and that ``Consumer.__init__`` still sets them, and ``snapshot`` reads them without a
fallback: after an upgrade the worker fails at start with ``UpstreamChanged`` instead of
running without the watchdog (and without its lag metric, which reads ``snapshot``).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import faust
from faust.transport.consumer import Consumer
from faust.types import TP

from contracts.topics import RETRY_TIERS

log = logging.getLogger(__name__)

#: Seconds between two looks at the partitions.
INTERVAL_S = 5.0

#: The faust-streaming release this workaround was written for and checked against.
FAUST_VERSION = "0.15.3"

#: The private attributes of Faust's ``Consumer`` this module reads.
CONSUMER_ATTRIBUTES = (
    "_committed_offset",
    "_acked",
    "_read_offset",
    "_gap",
    "_unacked_messages",
    "_active_partitions",
)


class UpstreamChanged(RuntimeError):
    """Faust is not the version, or lacks the private attributes, this workaround reads."""


def check_upstream(version: str | None = None) -> None:
    """Fail unless Faust is ``FAUST_VERSION`` and its ``Consumer`` sets every attribute of
    ``CONSUMER_ATTRIBUTES`` (read from the code of ``Consumer.__init__`` and
    ``Consumer._reset_state``, which ``__init__`` calls, so no consumer is made)."""
    found = faust.__version__ if version is None else version
    if found != FAUST_VERSION:
        raise UpstreamChanged(
            f"streaming.upstream.commit_watchdog works around faust-streaming #596 in "
            f"faust-streaming {FAUST_VERSION}, but {found} is installed: check whether "
            "#596 is fixed (then remove the watchdog) or re-check the private attributes "
            "it reads, and update FAUST_VERSION"
        )
    sets: set[str] = set()
    for method in ("__init__", "_reset_state"):
        code = getattr(getattr(Consumer, method, None), "__code__", None)
        sets.update(code.co_names if code is not None else ())
    missing = [name for name in CONSUMER_ATTRIBUTES if name not in sets]
    if missing:
        raise UpstreamChanged(
            f"faust.transport.consumer.Consumer no longer sets {', '.join(missing)}, which "
            "streaming.upstream.commit_watchdog reads (faust-streaming #596 workaround)"
        )


def _attributes(consumer: object) -> dict[str, object]:
    try:
        return {name: getattr(consumer, name) for name in CONSUMER_ATTRIBUTES}
    except AttributeError as exc:
        raise UpstreamChanged(
            f"{type(consumer).__name__} has no {exc.name}, which "
            "streaming.upstream.commit_watchdog reads (faust-streaming #596 workaround)"
        ) from None


@dataclass(frozen=True)
class Snapshot:
    """What the consumer knows of one partition at one look."""

    #: The next offset to commit from (the committed offset), None before any commit.
    committed: int | None
    #: Acked offsets waiting to be committed.
    acked: tuple[int, ...]
    #: Offsets of messages being processed.
    in_flight: tuple[int, ...]
    #: Offsets known not to exist (compaction): (start, end) half-open ranges.
    gaps: tuple[tuple[int, int], ...] = ()
    #: The offset of the last message read, None before any.
    read: int | None = None
    #: The partition's end (the offset the next message will get), None if unknown.
    highwater: int | None = None

    @property
    def idle_behind(self) -> tuple[int, int] | None:
        """``[committed, end)`` when messages wait after the committed offset while none
        is acked or in flight: the consumer is not delivering them."""
        end, committed = self.highwater, self.committed
        if committed is None and self.read == 0:
            # Faust keeps a committed offset of 0 as None and reads on from 0
            # (``Consumer.perform_seek``): a group committed at 0 (a replay to the
            # earliest offset of a partition that was empty then) stalls there too.
            committed = 0
        if committed is None or end is None or committed >= end:
            return None
        if self.acked or self.in_flight:
            return None
        return committed, end

    @property
    def gap(self) -> tuple[int, int] | None:
        """The offsets ``[committed, end)`` read but not acked: ``end`` is the first acked
        offset, or, with nothing acked, the partition's end once all of it was read."""
        if self.committed is None:
            return None
        if not self.acked:
            read, end = self.read, self.highwater
            if read is None or end is None or read + 1 < end or self.committed >= end:
                return None
            return self.committed, end
        first = min(self.acked)
        if first <= self.committed:
            return None
        if any(start <= self.committed < end for start, end in self.gaps):
            return None
        return self.committed, first

    @property
    def hole(self) -> tuple[int, int] | None:
        """The gap, when no message in it is being processed."""
        gap = self.gap
        if gap is None or any(offset < gap[1] for offset in self.in_flight):
            return None
        return gap


_RETRY_TOPICS = frozenset(spec.name for spec in RETRY_TIERS)

#: Looks (now included) a partition may sit idle behind its end before it is re-read.
IDLE_LOOKS = 3

#: Looks a gap may last, with a message of it "in flight", before it counts as stalled
#: anyway: Faust can keep a dropped message in its in-flight set. Longer than any
#: legitimate wait (a retry tier's 16 s plus jitter) at ``INTERVAL_S`` apart.
IN_FLIGHT_LOOKS = 6


def stalled(
    history: Sequence[Mapping[TP, Snapshot]], now: Mapping[TP, Snapshot]
) -> dict[TP, tuple[int, int]]:
    """Partitions that stopped committing: ``{tp: (start, end)}``.

    ``history`` holds the earlier looks, oldest first. A hole (a gap nobody processes)
    seen at the last look and now is stalled; so is a gap that stayed the same over the
    last ``IN_FLIGHT_LOOKS`` looks and now, whatever Faust says is in flight.
    """
    found: dict[TP, tuple[int, int]] = {}
    # One retry agent reads all partitions of its tier, one record at a time, and waits
    # on each until it is due: while it waits, the other partitions' records queue
    # behind it, read but neither acked nor in flight. Not a hole, not idle.
    waiting = {tp.topic for tp, s in now.items() if tp.topic in _RETRY_TOPICS and s.in_flight}
    for tp, snapshot in now.items():
        behind_a_wait = tp.topic in waiting and not snapshot.in_flight
        hole = None if behind_a_wait else snapshot.hole
        earlier = history[-1].get(tp) if history else None
        if hole is not None and earlier is not None and earlier.hole == hole:
            found[tp] = hole
            continue
        idle = None if tp.topic in waiting else snapshot.idle_behind
        recent = [h.get(tp) for h in history[-(IDLE_LOOKS - 1) :]]
        if (
            idle is not None
            and len(recent) == IDLE_LOOKS - 1
            and all(look is not None and look.idle_behind == idle for look in recent)
        ):
            found[tp] = idle
            continue
        gap = snapshot.gap
        looks = [h.get(tp) for h in history[-IN_FLIGHT_LOOKS:]]
        if (
            gap is not None
            and len(looks) == IN_FLIGHT_LOOKS
            and all(look is not None and look.gap == gap for look in looks)
        ):
            found[tp] = gap
    return found


def snapshot(app: faust.App) -> dict[TP, Snapshot]:
    """Every assigned non-changelog partition's ``Snapshot``."""
    consumer = app.consumer
    private: dict[str, Any] = _attributes(consumer)
    committed = private["_committed_offset"]
    acked = private["_acked"]
    read = private["_read_offset"]
    gaps = private["_gap"]
    in_flight: dict[TP, list[int]] = {}
    for message in list(private["_unacked_messages"]):
        in_flight.setdefault(message.tp, []).append(message.offset)
    found: dict[TP, Snapshot] = {}
    for tp in consumer.assignment():
        if tp.topic.endswith("-changelog"):
            continue
        found[tp] = Snapshot(
            committed=committed.get(tp),
            acked=tuple(acked.get(tp) or ()),
            in_flight=tuple(in_flight.get(tp, ())),
            gaps=tuple(_ranges(gaps.get(tp) or ())),
            read=read.get(tp),
            highwater=_highwater(consumer, tp),
        )
    return found


def _highwater(consumer: object, tp: TP) -> int | None:
    try:
        value = consumer.highwater(tp)  # type: ignore[attr-defined]
    except Exception:  # not fetched yet
        return None
    return int(value) if value is not None and value >= 0 else None


def _ranges(tree: Iterable[object]) -> Iterable[tuple[int, int]]:
    for interval in tree:
        yield int(interval.begin), int(interval.end)  # type: ignore[attr-defined]


def _stays_behind(history: Sequence[Mapping[TP, Snapshot]], tp: TP, seen: Snapshot) -> bool:
    """True once per stall: the partition is behind its end and its committed offset has
    now been the same for ``IDLE_LOOKS`` looks, but was not one look earlier."""
    if seen.highwater is None or (seen.committed or 0) >= seen.highwater:
        return False
    looks = [h.get(tp) for h in history[-IDLE_LOOKS:]]
    same = [look is not None and look.committed == seen.committed for look in looks]
    return (
        len(same) >= IDLE_LOOKS - 1
        and all(same[-(IDLE_LOOKS - 1) :])
        and not (len(same) == IDLE_LOOKS and same[0])
    )


def install(app: faust.App, interval: float = INTERVAL_S) -> None:
    """Watch ``app``'s partitions and re-read any that stall (see the module doc).

    Raises ``UpstreamChanged`` at once unless Faust is the version this was written for.
    """
    check_upstream()
    history: deque[dict[TP, Snapshot]] = deque(maxlen=IN_FLIGHT_LOOKS)

    async def watch() -> None:
        recovery = app.tables.recovery  # type: ignore[attr-defined]
        if app.rebalancing or not recovery.completed.is_set():
            history.clear()
            return
        current = snapshot(app)
        healed = False
        for tp, (start, end) in sorted(stalled(list(history), current).items()):
            log.warning(
                "%s: commits of %s[%d] stopped at offset %d: offsets %d..%d were never "
                "acked (Faust lost their acks or dropped them); re-reading from %d (every "
                "partition from its committed offset)",
                app.conf.id,
                tp.topic,
                tp.partition,
                start,
                start,
                end - 1,
                start,
            )
            if tp not in app.consumer._active_partitions:  # type: ignore[attr-defined]
                log.warning("%s: %s[%d] was paused; resuming it", app.conf.id, *tp)
                app.consumer.resume_partitions({tp})
            healed = True
            current.pop(tp, None)
            for look in history:
                look.pop(tp, None)
        if healed:  # every partition from its committed offset, not one: reseek's doc
            await cast(Any, app.consumer).reseek()
        for tp, seen in current.items():
            if _stays_behind(list(history), tp, seen):
                log.info(
                    "%s: commits of %s[%d] stay at %s (end %s, read %s, acked %s, "
                    "in flight %s, active %s)",
                    app.conf.id,
                    tp.topic,
                    tp.partition,
                    seen.committed,
                    seen.highwater,
                    seen.read,
                    f"{min(seen.acked)}..{max(seen.acked)}" if seen.acked else "none",
                    sorted(seen.in_flight)[:5],
                    tp in app.consumer._active_partitions,  # type: ignore[attr-defined]
                )
        history.append(current)

    app.timer(interval, name="commit_watchdog")(watch)
