"""Faust's consumer delivers each message without a task fan-out, and never marks a
message read that a rebalance kept from its stream (faust-streaming #596 and the
per-message ``wait_first``).

Upstream-ready description
==========================

**Problem.** ``faust.transport.consumer.Consumer._drain_messages`` (faust-streaming
0.15.3) hands every fetched message to the conductor with::

    await self.wait_first(callback(message), self.suspend_flow.wait())
    set_read_offset(tp, offset)

1. *Cost.* ``mode.Service.wait_first`` wraps each of its arguments plus the service's
   ``_stopped`` and ``_crashed`` events in a task (4 tasks), waits with
   ``asyncio.wait(FIRST_COMPLETED)`` and cancels the 3 losers: ~60 µs of CPU per message,
   more than the rest of Faust's consumer -> stream -> agent path together, for a
   suspension that happens once per rebalance. robinhood/faust awaited the callback.
2. *Correctness.* The read offset is set whatever became of the message: when the
   suspension wins, the callback is cancelled and the message never reaches its stream,
   and when the callback returns after the rebalance cleared the stream queues (the
   conductor's ``on_message`` waits for a full queue with ``asyncio.wait`` over a
   ``Channel.put`` task, whose putter ``FlowControlEvent.clear`` cancels; the error is
   swallowed) the message was not delivered either. Neither is acked, both are marked
   read. That is harmless only if ``perform_seek`` runs *afterwards* (it resets the read
   offsets to the committed ones). But ``Recovery.on_recovery_completed`` (and
   ``_resume_streams``) resume the stream partitions *before* awaiting ``perform_seek``,
   with the flow already active, and ``flow_control.resume()`` then clears the queues:
   the drain loop can be inside a batch fetched before the seek, or blocked on a full
   queue, across that seek. A message delivered into a queue that is then cleared, or
   a blocked put that the clear cancels, is marked read after the seek; the re-fetch
   from the committed offset then drops every message below the read offset
   (``DROPPED MESSAGE ROFF``), later ones are acked, and ``_new_offset`` never commits
   past the hole: the partition's commits stop for good (#596: "commits stop after a
   rebalance under load"). Continuing a pre-seek batch also adds a false gap
   (``_add_gap(r_offset + 1, offset)`` with the reset read offset), and offsets in a
   gap count as acked: those messages are committed without being processed.
3. *The seek overlaps fetches.* ``perform_seek`` seeks one partition at a time (aiokafka's
   ``seek_to_committed``: an OffsetFetch round trip per partition) while the fetcher
   runs. A fetch between two of those seeks reads an already sought partition from its
   committed offset, moves its position past what it read, and delivers it in the new
   epoch; ``flow_control.resume()`` then clears those messages from the queues, and
   nothing seeks that partition again. They are processed only after the next restart
   or rebalance, and the partition's commits stop at the first of them. Seen on a retry
   tier: records waiting there when their worker stopped were not retried by the
   restarted one (``tests/integration/test_failures.py``, a worker stopped while
   retries wait); a main topic stalls the same way until the commit watchdog re-reads it.
4. *Partitions without a commit are not sought.* aiokafka's ``seek_to_committed`` skips
   a partition whose committed offset is None or 0, so its fetch position stays where
   the last fetch left it: past the records of a batch abandoned (or a queue cleared)
   for the seek. Seen in the chaos test: a retry tier's only record, fetched before a
   recovery's seek, was never read by that worker (its partition "read None" with one
   record waiting).
5. *The read offset means two things.* After a message is read it is that message's
   offset; after a seek it is the offset sought, i.e. the next one due. The loop's
   skip check (``offset - read > 1``) thus misses a drop of exactly the message at a
   sought offset.
6. *The commit goes over one unprocessed message.* ``Consumer._new_offset`` refuses
   to commit while the first acked offset is more than one past the committed offset
   (``min(acked) - committed > 1``), but the committed offset is the next message to
   process: with it unprocessed and the one after acked, the commit goes over it, and
   nothing reads it again (with no committed offset yet, over any number).

**Fix.** A flow *epoch* that ``stop_flow``, ``seek`` and ``perform_seek`` advance, and
a drain loop that

- awaits ``callback(message)`` directly (no task, no ``wait_first``);
- when the flow stops while a callback is blocked, cancels just that callback (the
  drain task is cancelled and the cancellation uncancelled, as ``asyncio.timeout``
  does), like ``wait_first`` did, so a rebalance never waits for a full queue;
- marks a message read only if the epoch did not change while it was delivered,
  and abandons the rest of a batch fetched in an older epoch. Every change of the
  flow epoch is followed (or was preceded) by a seek of every assigned partition to
  its committed offset, so whatever was not marked read is fetched again: at least
  once, never a hole in the acked offsets. A seek of one partition (the re-read of a
  skip, below) has an epoch of its own: only that partition's rest of the batch
  is abandoned, since only its position was reset;
- never counts skipped offsets as a gap in the log before it has re-read them
  (``DirectDeliveryConsumer._skipped``): Faust's ``getmany`` also drops records without
  seeking back (a partition paused when its records arrive, a generation change), and
  its loop then added ``_add_gap(r_offset + 1, offset)``, so the commit went over
  messages nobody processed. Found by the chaos test: after a broker restart, 19
  orders of one partition were never charged and 45 outcomes never notified;
- holds the fetcher from the start of ``perform_seek`` until the flow resumes after it
  (``resume_flow``, which Faust calls right after clearing the queues): a fetch in
  flight returns first and its batch is abandoned, then every partition is sought
  with no fetch in between, and nothing is delivered into queues about to be cleared;
  and starts no fetch while the flow is stopped: Faust's ``getmany`` would park until
  the flow resumes, counted as a fetch in flight, so a ``perform_seek`` of a rebalance
  without a recovery (one that only takes partitions away, when the flow resumes
  after the seek) waited for it for good: the worker stopped reading (seen in
  ``tests/integration/test_saga.py``'s replay, three inventory workers restarted);
- seeks the partitions without a committed offset too (problem 4);
- knows, per partition, whether its read offset was sought or read, and expects the
  sought offset itself next (problem 5);
- and the commit waits for the message at the committed offset (``_new_offset``,
  problem 6): the commit watchdog then sees the stall and re-reads it.

Measured with ``benchmarks.bench_hop`` (one echo agent, 2 shared cores): see the commit
that introduced this module. Tests: ``streaming/tests/test_upstream_direct_delivery.py``
reproduce the stall and the seek overlap with Faust's own loop and show this loop
re-reads the messages.

This module replaces the consumer class through the app's transport (``install``);
it checks that Faust is the version it was copied from (the loop below is Faust
0.15.3's, changed only as described) and fails at start otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any, ClassVar, cast

import faust
from aiokafka import TopicPartition
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.consumer import Consumer as BaseConsumer
from faust.transport.drivers import aiokafka as driver
from faust.types import TP
from mode import Service, ServiceT

from streaming.upstream.commit_watchdog import FAUST_VERSION, UpstreamChanged

__all__ = ["DirectDeliveryConsumer", "Transport", "check_upstream", "install"]


def check_upstream(version: str | None = None) -> None:
    """Fail unless Faust is the release whose drain loop this module carries."""
    found = faust.__version__ if version is None else version
    if found != FAUST_VERSION:
        raise UpstreamChanged(
            f"streaming.upstream.direct_delivery carries a copy of Faust {FAUST_VERSION}'s "
            f"Consumer._drain_messages, but {found} is installed: check whether the "
            "per-message wait_first and the #596 read-offset race are fixed upstream "
            "(then remove this module) or port the change, and update FAUST_VERSION"
        )
    names = BaseConsumer._drain_messages.__code__.co_names
    for needed in ("wait_first", "_read_offset", "callback", "_add_gap"):
        if needed not in names:
            raise UpstreamChanged(
                f"faust.transport.consumer.Consumer._drain_messages no longer uses "
                f"{needed}: streaming.upstream.direct_delivery must be re-checked"
            )


class DirectDeliveryConsumer(driver.Consumer):
    """Faust's aiokafka consumer with the drain loop described in the module doc."""

    #: Advanced by every event after which every fetched message may be stale: the flow
    #: stopped (a rebalance or a stop) or every partition was sought to its commit.
    _flow_epoch: int = 0
    #: Per partition, advanced by a seek of that partition alone (its fetched messages
    #: are stale, the other partitions' are not).
    _tp_epochs: dict[TP, int]
    #: Per partition, the re-read of a skip of offsets in progress: (from, first offset
    #: seen after the skip); see ``_skipped``.
    _gap_probes: dict[TP, tuple[int, int]]
    #: Partitions whose read offset is an offset sought (the next one to read), not the
    #: offset of the last message read: no message was read since their last seek.
    _sought: set[TP]
    #: The drain task while it awaits a callback, else None.
    _delivering: asyncio.Task[Any] | None = None
    #: True once ``stop_flow`` cancelled the callback in progress.
    _aborting: bool = False
    #: True from the start of ``perform_seek`` until the flow resumes after it: the
    #: drain loop neither fetches nor delivers (see ``perform_seek``).
    _held: bool = False
    #: The drain loop's task, while it runs.
    _drain_task: asyncio.Task[Any] | None = None
    #: Set unless the drain loop waits for a fetch (the first message of a batch).
    _fetch_idle: asyncio.Event | None = None
    #: Set when the hold ends.
    _released: asyncio.Event | None = None

    def _event(self, name: str) -> asyncio.Event:
        """The event attribute ``name``, made (and set) on first use."""
        event = getattr(self, name)
        if event is None:
            event = asyncio.Event()
            event.set()
            setattr(self, name, event)
        return cast(asyncio.Event, event)

    def stop_flow(self) -> None:
        self._flow_epoch += 1
        super().stop_flow()
        task = self._delivering
        if task is not None and not self._aborting and task is not asyncio.current_task():
            self._aborting = True
            task.cancel()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tp_epochs = {}
        self._gap_probes = {}
        self._sought = set()

    async def seek(self, partition: TP, offset: int) -> None:
        self._bump(partition)
        try:
            await super().seek(partition, offset)
        finally:
            self._bump(partition)
            self._sought.add(partition)

    def _bump(self, tp: TP) -> None:
        self._tp_epochs[tp] = self._tp_epochs.get(tp, 0) + 1

    async def _skipped(self, tp: TP, due: int, offset: int) -> bool:
        """True when the offsets from ``due`` (the next one expected) up to ``offset`` were
        skipped by a drop, not by the log.

        Faust counts every offset between the last one read and the one fetched as a gap
        in the log (compaction, transaction markers) and commits over it. But the fetch
        position also moves past messages that never reached this loop: Faust's
        ``getmany`` drops the records of a partition that is paused when they arrive,
        and breaks off a batch on a generation change, without seeking back. The
        project's topics have no gaps (not compacted, no transactions), so such a
        "gap" would commit unprocessed messages: orders never charged or never
        notified (seen in the chaos test after a broker restart).

        So a skip is first re-read: the partition is sought back to ``due`` and the rest
        of its batch is abandoned. Only if the re-read skips to the same offset again is
        it a real gap in the log, which Faust's bookkeeping then records as before.
        """
        probe = self._gap_probes.pop(tp, None)
        if probe == (due, offset):
            return False
        self._gap_probes[tp] = (due, offset)
        self.log.warning(
            "%s[%d]: fetched offset %d where %d was due: re-reading from %d (messages were "
            "dropped before delivery)",
            tp.topic,
            tp.partition,
            offset,
            due,
            due,
        )
        await self.seek(tp, due)
        return True

    def resume_flow(self) -> None:
        super().resume_flow()
        self._release()

    async def reseek(self) -> None:
        """Seek every assigned partition to its committed offset outside a recovery (the
        commit watchdog's heal): held like ``perform_seek``, released at its end (no
        queue is cleared: what they hold is processed, and read again after the seek).

        Every partition rather than the stalled one: what the others' acks lost (a
        failed commit) is read again too.
        """
        await self.perform_seek()
        self._release()

    def _release(self) -> None:
        self._held = False
        self._event("_released").set()

    async def perform_seek(self) -> None:
        """Seek every assigned partition to its committed offset, with the fetcher held
        from the start until the flow resumes (``resume_flow``): problem 3 of the
        module doc. A fetch in flight returns first (its batch is abandoned: the seek
        fetches it again)."""
        self._flow_epoch += 1
        self._held = True
        self._event("_released").clear()
        try:
            if asyncio.current_task() is not self._drain_task:
                await self._event("_fetch_idle").wait()
            await super().perform_seek()
        except BaseException:
            self._release()  # Faust recovers from a failed seek by rebalancing again
            raise
        finally:
            self._flow_epoch += 1

    async def seek_to_committed(self) -> Mapping[TP, int]:
        """Seek every assigned partition to its committed offset, including those without
        one (problem 4 of the module doc).

        aiokafka's ``seek_to_committed`` seeks only partitions whose committed offset is
        above 0: a partition never committed (a retry tier, a new topic) or committed at
        0 keeps its fetch position, and after a batch abandoned for the seek that
        position is past records nobody processed. Those partitions are sought to the
        first offset the reset policy names (``earliest``: the log start, where a group
        without a commit begins anyway). Changelog partitions are the recovery's, and
        left alone.
        """
        committed = await super().seek_to_committed()
        self._sought.update(committed)  # Faust sets their read offsets to these
        if self.app.conf.consumer_auto_offset_reset == "earliest":
            changelogs = self.app.tables.changelog_topics
            unsought = [
                tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs
            ]
            if unsought:
                await self._thread.seek_to_beginning(
                    *(TopicPartition(tp.topic, tp.partition) for tp in unsought)
                )
        return committed

    def _new_offset(self, tp: TP) -> int | None:
        """The offset to commit for ``tp``, never past an unprocessed committed offset
        (problem 6 of the module doc): the message at the committed offset must be acked
        (or lie in a recorded gap of the log) before anything after it is committed."""
        committed = self._committed_offset[tp]
        acked = self._acked[tp]
        if acked and committed is not None:
            first = min(acked)
            for interval in self._gap[tp]:
                first = min(first, interval.begin)
            if first > committed:
                return None
        return super()._new_offset(tp)

    async def _drain_messages(self, fetcher: ServiceT) -> None:  # pragma: no cover
        # Faust 0.15.3's loop; the changes are marked "direct delivery".
        callback = self.callback
        getmany = self.getmany
        consumer_should_stop = cast(Service, self)._stopped.is_set
        fetcher_should_stop = cast(Service, fetcher)._stopped.is_set

        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        flag_consumer_fetching = CONSUMER_FETCHING
        set_flag = self.diag.set_flag
        unset_flag = self.diag.unset_flag
        commit_every = self._commit_every
        acks_enabled_for = self.app.topics.acks_enabled_for
        sought = self._sought
        task = asyncio.current_task()
        self._drain_task = task
        fetch_idle = self._event("_fetch_idle")
        released = self._event("_released")

        yield_every = 100
        num_since_yield = 0
        sleep = asyncio.sleep

        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                if self._held:  # direct delivery: no fetch while a seek holds the flow
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(released.wait(), 1.0)
                    continue
                if not self.flow_active:  # direct delivery: nor while the flow is stopped
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self.can_resume_flow.wait(), 1.0)
                    continue
                set_flag(flag_consumer_fetching)
                ait = getmany(timeout=1.0)

                await self.sleep(0)
                if not self.should_stop:
                    epoch: int | None = None  # direct delivery: the batch's epoch
                    # direct delivery: each partition's seek epoch when the batch began
                    tp_epochs: dict[TP, int] = {}
                    fetch_idle.clear()
                    async for tp, message in ait:
                        if epoch is None:
                            fetch_idle.set()
                            if self._held:
                                break  # fetched before the seek: fetched again after it
                            epoch = self._flow_epoch
                        tp_epoch = tp_epochs.setdefault(tp, self._tp_epochs.get(tp, 0))
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await sleep(0)
                            num_since_yield = 0
                        # direct delivery: nothing of a batch fetched before a stop or a
                        # seek of every partition is delivered or marked read (it is
                        # fetched again); nor the rest of a partition sought on its own.
                        if self._flow_epoch != epoch or not self.flow_active:
                            break
                        if self._tp_epochs.get(tp, 0) != tp_epoch:
                            continue

                        offset = message.offset
                        r_offset = get_read_offset(tp)
                        if r_offset is None or offset >= r_offset:
                            # direct delivery: the offset due next is the read offset
                            # itself after a seek (Faust sets it to the offset sought),
                            # the one after it once a message was read (problem 5).
                            due = None
                            if r_offset is not None:
                                due = r_offset if tp in sought else r_offset + 1
                            if due is not None and offset > due:
                                acks_enabled = acks_enabled_for(message.topic)
                                if acks_enabled:
                                    # direct delivery: a skip is re-read before it
                                    # counts as a gap in the log.
                                    if await self._skipped(tp, due, offset):
                                        continue
                                    await self._add_gap(tp, due, offset)
                            if commit_every is not None and self._n_acked >= commit_every:
                                self._n_acked = 0
                                await self.commit()
                            if self._flow_epoch != epoch:
                                break
                            if self._tp_epochs.get(tp, 0) != tp_epoch:
                                continue
                            # direct delivery: await the callback in this task.
                            self._delivering = task
                            try:
                                await callback(message)
                            except asyncio.CancelledError:
                                if not self._aborting or (task is not None and task.uncancel()):
                                    raise
                            finally:
                                self._delivering = None
                                self._aborting = False
                            if self._flow_epoch != epoch:
                                break  # the flow stopped or a seek ran meanwhile
                            if self._tp_epochs.get(tp, 0) != tp_epoch:
                                continue  # this partition was sought meanwhile
                            set_read_offset(tp, offset)
                            sought.discard(tp)
                            probe = self._gap_probes.get(tp)
                            if probe is not None and offset >= probe[1]:
                                del self._gap_probes[tp]  # the re-read got past the skip
                        else:
                            self.log.dev(
                                "DROPPED MESSAGE ROFF %r: k=%r v=%r",
                                offset,
                                message.key,
                                message.value,
                            )
                    fetch_idle.set()
                    unset_flag(flag_consumer_fetching)

        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            fetch_idle.set()
            self._drain_task = None
            unset_flag(flag_consumer_fetching)


class Transport(driver.Transport):
    """Faust's aiokafka transport, with ``DirectDeliveryConsumer`` as its consumer."""

    Consumer: ClassVar[type[Any]] = DirectDeliveryConsumer


def install(app: faust.App) -> None:
    """Give ``app`` the transport whose consumer is ``DirectDeliveryConsumer``.

    Call it on a new app, before anything created its consumer.
    """
    check_upstream()
    if getattr(app, "_consumer", None) is not None:
        raise RuntimeError("direct_delivery.install: the app's consumer already exists")
    app.transport = Transport(app.conf.broker_consumer, app)
