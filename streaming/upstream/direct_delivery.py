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

**Fix.** A flow *epoch* that ``stop_flow``, ``seek`` and ``perform_seek`` advance, and
a drain loop that

- awaits ``callback(message)`` directly (no task, no ``wait_first``);
- when the flow stops while a callback is blocked, cancels just that callback (the
  drain task is cancelled and the cancellation uncancelled, as ``asyncio.timeout``
  does), like ``wait_first`` did, so a rebalance never waits for a full queue;
- marks a message read only if the epoch did not change while it was delivered,
  and abandons the rest of a batch fetched in an older epoch. Every epoch change is
  followed (or was preceded) by a seek of every assigned partition to its committed
  offset, so whatever was not marked read is fetched again: at least once, never a
  hole in the acked offsets, never a gap over unprocessed messages;
- holds the fetcher from the start of ``perform_seek`` until the flow resumes after it
  (``resume_flow``, which Faust calls right after clearing the queues): a fetch in
  flight returns first and its batch is abandoned, then every partition is sought
  with no fetch in between, and nothing is delivered into queues about to be cleared.

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
from typing import Any, ClassVar, cast

import faust
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

    #: Advanced by every event after which a fetched message may be stale: the flow
    #: stopped (a rebalance or a stop) or a partition was sought.
    _flow_epoch: int = 0
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

    async def seek(self, partition: TP, offset: int) -> None:
        self._flow_epoch += 1
        try:
            await super().seek(partition, offset)
        finally:
            self._flow_epoch += 1

    def resume_flow(self) -> None:
        super().resume_flow()
        self._release()

    async def reseek(self) -> None:
        """Seek every assigned partition to its committed offset outside a recovery (the
        commit watchdog's heal): held like ``perform_seek``, released at its end (no
        queue is cleared: what they hold is processed, and read again after the seek).

        Not ``seek`` of one partition: a batch in progress is abandoned at any seek,
        with the messages of every other partition in it, whose positions are already
        past them; their next fetch would count them as a gap (acked: committed without
        being processed).
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
                set_flag(flag_consumer_fetching)
                ait = getmany(timeout=1.0)

                await self.sleep(0)
                if not self.should_stop:
                    epoch: int | None = None  # direct delivery: the batch's epoch
                    fetch_idle.clear()
                    async for tp, message in ait:
                        if epoch is None:
                            fetch_idle.set()
                            if self._held:
                                break  # fetched before the seek: fetched again after it
                            epoch = self._flow_epoch
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await sleep(0)
                            num_since_yield = 0
                        # direct delivery: nothing of a batch fetched before a stop or
                        # seek is delivered or marked read (it is fetched again).
                        if self._flow_epoch != epoch or not self.flow_active:
                            break

                        offset = message.offset
                        r_offset = get_read_offset(tp)
                        if r_offset is None or offset >= r_offset:
                            gap = offset - (r_offset or 0)
                            if gap > 1 and r_offset:
                                acks_enabled = acks_enabled_for(message.topic)
                                if acks_enabled:
                                    await self._add_gap(tp, r_offset + 1, offset)
                            if commit_every is not None and self._n_acked >= commit_every:
                                self._n_acked = 0
                                await self.commit()
                            if self._flow_epoch != epoch:
                                break
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
                            set_read_offset(tp, offset)
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
