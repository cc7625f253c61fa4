"""The consumer's drain loop (``streaming.upstream.direct_delivery``): each message is
delivered in the drain task itself, and a message a rebalance kept from its stream is
never marked read, so the re-fetch delivers it (Faust's own loop loses it: #596)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition
from faust.transport.consumer import Consumer as FaustConsumer
from faust.types import TP, Message

from config.env import load
from streaming import create_app
from streaming.upstream import direct_delivery
from streaming.upstream.commit_watchdog import UpstreamChanged
from streaming.upstream.direct_delivery import DirectDeliveryConsumer

ORDERS = TP("orders.v1", 0)


def message(offset: int) -> Message:
    return Message(ORDERS.topic, ORDERS.partition, offset, 0.0, 0, [], b"k", b"v", None)


class Harness:
    """A consumer of a real app whose fetches and deliveries are scripted."""

    def __init__(self, batches: list[list[int]], committed: int) -> None:
        self.app = create_app("direct-delivery-test", load())
        self.consumer = self.app.consumer
        assert isinstance(self.consumer, DirectDeliveryConsumer)
        self.batches = [list(b) for b in batches]
        self.fetcher = SimpleNamespace(_stopped=asyncio.Event())
        self.delivered: list[int] = []
        self.callback: Callable[[Message], Awaitable[None]] = self.deliver
        consumer: Any = self.consumer
        consumer.getmany = self.getmany
        consumer.callback = lambda m: self.callback(m)

        async def seek_to_committed() -> dict[TP, int]:
            return {ORDERS: committed}

        consumer.seek_to_committed = seek_to_committed

    async def deliver(self, m: Message) -> None:
        self.delivered.append(m.offset)

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        if not self.batches:
            self.fetcher._stopped.set()
            return
        for offset in self.batches.pop(0):
            if not self.consumer.flow_active:
                break
            yield ORDERS, message(offset)

    async def drain(self, loop: Callable[..., Awaitable[None]]) -> None:
        await asyncio.wait_for(loop(self.consumer, self.fetcher), 5)


def blocked_then_swallowed(h: Harness) -> Callable[[Message], Awaitable[None]]:
    """Offset 11 waits on a full stream queue; meanwhile recovery seeks every partition
    to its committed offset and clears the queues, which cancels the pending put. The
    conductor's ``on_message`` swallows that (``asyncio.wait``) and returns: 11 was not
    delivered."""
    seen: set[int] = set()

    async def callback(m: Message) -> None:
        if m.offset == 11 and 11 not in seen:
            seen.add(11)
            await h.consumer.perform_seek()  # Recovery.on_recovery_completed, meanwhile,
            h.consumer.resume_flow()  # which resumes the flow after the seek
            return
        h.delivered.append(m.offset)

    return callback


async def test_faust_own_loop_marks_an_undelivered_message_read_and_drops_its_refetch() -> None:
    # The reproduction of the #596 stall with Faust 0.15.3's loop: offset 11 is never
    # delivered, so never acked, so the partition's commits stop at 11 for good.
    h = Harness([[10, 11, 12], [10, 11, 12, 13]], committed=10)
    h.callback = blocked_then_swallowed(h)
    await h.drain(FaustConsumer._drain_messages)
    assert 11 not in h.delivered
    assert h.delivered == [10, 12, 12, 13]


async def test_a_message_whose_delivery_straddles_a_seek_is_fetched_again() -> None:
    h = Harness([[10, 11, 12], [10, 11, 12, 13]], committed=10)
    h.callback = blocked_then_swallowed(h)
    await h.drain(DirectDeliveryConsumer._drain_messages)
    # 12 of the stale batch is not delivered; the re-fetch delivers 10 again (at least
    # once: handlers are idempotent) and everything after it.
    assert h.delivered == [10, 10, 11, 12, 13]
    assert h.consumer._read_offset[ORDERS] == 13


async def test_a_seek_during_a_delivery_abandons_the_rest_of_the_batch() -> None:
    h = Harness([[10, 11, 12], [10, 11, 12]], committed=10)

    async def callback(m: Message) -> None:
        h.delivered.append(m.offset)
        if m.offset == 10 and h.delivered == [10]:
            await h.consumer.perform_seek()  # delivered, but a seek ran meanwhile
            h.consumer.resume_flow()

    h.callback = callback
    await h.drain(DirectDeliveryConsumer._drain_messages)
    assert h.delivered == [10, 10, 11, 12]


async def test_stop_flow_cancels_the_blocked_delivery_and_marks_nothing_read() -> None:
    h = Harness([[10, 11, 12], []], committed=10)
    blocked = asyncio.Event()
    cancelled: list[int] = []

    async def callback(m: Message) -> None:
        if m.offset == 11:
            blocked.set()
            try:
                await asyncio.Event().wait()  # a full stream queue
            except asyncio.CancelledError:
                cancelled.append(m.offset)
                raise
        h.delivered.append(m.offset)

    h.callback = callback
    drain = asyncio.ensure_future(h.drain(DirectDeliveryConsumer._drain_messages))
    await blocked.wait()
    h.consumer.stop_flow()  # a rebalance starts
    h.consumer.resume_flow()  # (so the scripted fetcher can end)
    await drain  # the drain task itself is not cancelled
    assert cancelled == [11]
    assert h.delivered == [10]
    assert h.consumer._read_offset[ORDERS] == 10


async def test_a_real_cancellation_of_the_drain_task_still_propagates() -> None:
    h = Harness([[10, 11]], committed=10)
    blocked = asyncio.Event()

    async def callback(m: Message) -> None:
        blocked.set()
        await asyncio.Event().wait()

    h.callback = callback
    drain = asyncio.ensure_future(h.drain(DirectDeliveryConsumer._drain_messages))
    await blocked.wait()
    drain.cancel()
    with pytest.raises(asyncio.CancelledError):
        await drain


async def test_the_fast_path_delivers_in_the_drain_task_itself() -> None:
    h = Harness([[1, 2, 3]], committed=0)
    tasks: set[asyncio.Task[Any] | None] = set()

    async def callback(m: Message) -> None:
        tasks.add(asyncio.current_task())
        h.delivered.append(m.offset)

    h.callback = callback
    drain = asyncio.ensure_future(h.drain(DirectDeliveryConsumer._drain_messages))
    await drain
    assert h.delivered == [1, 2, 3]
    assert len(tasks) == 1 and drain not in tasks  # one task: the drain loop's own


def test_install_checks_the_faust_version() -> None:
    with pytest.raises(UpstreamChanged, match=r"0\.16\.0"):
        direct_delivery.check_upstream("0.16.0")
    direct_delivery.check_upstream()


def test_mode_log_messages_are_formatted_only_when_the_level_is_on() -> None:
    import logging

    from mode.utils.logging import CompositeLogger

    from streaming.upstream import lazy_log_format

    lazy_log_format.install()
    formatted: list[str] = []
    logger = logging.getLogger("streaming.tests.lazy")
    logger.setLevel(logging.INFO)
    log = CompositeLogger(logger, formatter=lambda s, m, *a, **k: formatted.append(m) or m)
    log.debug("off %s", 1)
    log.info("on %s", 2)
    assert formatted == ["on %s"]
    with pytest.raises(UpstreamChanged):
        lazy_log_format.check_upstream("0.8.0")


# -- records dropped before delivery: a skip is re-read, never committed over ------------

PAYMENTS = TP("payments.v1", 0)


class Log:
    """Partitions with a fetch position each, fetched like aiokafka does: a batch
    advances the position past every record it returns, delivered or not."""

    def __init__(self, consumer: Any, logs: dict[TP, list[int]], committed: int = 0) -> None:
        self.consumer = consumer
        self.logs = logs
        self.position = {tp: committed for tp in logs}
        self.delivered: dict[TP, list[int]] = {tp: [] for tp in logs}
        #: Offsets the next fetch returns but Faust's getmany drops (a paused partition).
        self.drop: dict[TP, set[int]] = {}
        self.callback: Callable[[TP, int], Awaitable[None]] | None = None
        self.fetcher = SimpleNamespace(_stopped=asyncio.Event())
        self.seeks: list[tuple[TP, int]] = []
        consumer.getmany = self.getmany
        consumer.callback = self.deliver
        consumer.app.topics.acks_enabled_for = lambda topic: True
        consumer._read_offset.update({tp: committed or None for tp in logs})

        async def _seek(tp: TP, offset: int) -> None:
            self.seeks.append((tp, offset))
            self.position[tp] = offset

        consumer._seek = _seek

    async def deliver(self, m: Message) -> None:
        tp = TP(m.topic, m.partition)
        if self.callback is not None:
            await self.callback(tp, m.offset)
        self.delivered[tp].append(m.offset)

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        batch = {
            tp: [o for o in log if o >= self.position[tp]][:5] for tp, log in self.logs.items()
        }
        if not any(batch.values()):
            self.fetcher._stopped.set()
            return
        for tp, offsets in batch.items():
            if offsets:
                self.position[tp] = offsets[-1] + 1  # aiokafka: consumed on return
        for tp, offsets in batch.items():
            for offset in offsets:
                if offset in self.drop.get(tp, set()):
                    self.drop[tp].discard(offset)
                    continue  # Faust's getmany: the partition was paused, dropped
                yield tp, Message(tp.topic, tp.partition, offset, 0.0, 0, [], b"k", b"v", None)

    async def drain(self) -> None:
        await asyncio.wait_for(
            DirectDeliveryConsumer._drain_messages(self.consumer, self.fetcher), 5
        )


def a_consumer() -> Any:
    consumer = create_app("direct-delivery-gaps", load()).consumer
    assert isinstance(consumer, DirectDeliveryConsumer)
    return consumer


async def test_records_dropped_before_delivery_are_re_read_not_counted_as_a_gap() -> None:
    # The chaos test's loss: after a broker restart Faust's getmany dropped offsets
    # 14..16 of a paused partition while the fetch position moved on; Faust's own loop
    # then counted 14..16 as a gap in the log and committed over them, unprocessed.
    consumer = a_consumer()
    log = Log(consumer, {ORDERS: list(range(10, 22))}, committed=10)
    log.drop[ORDERS] = {14, 15, 16}
    await log.drain()
    assert set(range(10, 22)) <= set(log.delivered[ORDERS])
    assert not consumer._gap.get(ORDERS)  # nothing counted as acked without processing
    assert (ORDERS, 14) in log.seeks  # re-read from the first offset skipped


async def test_a_real_gap_in_the_log_is_recorded_after_one_re_read() -> None:
    # A compacted or transactional topic really lacks offsets: the re-read skips to
    # the same offset again, and then Faust's gap bookkeeping applies as before.
    consumer = a_consumer()
    log = Log(consumer, {ORDERS: [10, 11, 12, 13, 17, 18]}, committed=10)
    await log.drain()
    assert log.delivered[ORDERS] == [10, 11, 12, 13, 17, 18]
    assert log.seeks == [(ORDERS, 14)]  # one re-read, then the gap is real
    gaps = sorted((i.begin, i.end) for i in consumer._gap[ORDERS])
    assert gaps == [(14, 18)]


async def test_a_message_dropped_right_after_a_seek_is_re_read() -> None:
    # After a seek the read offset is the offset sought, the next one due, not the last
    # one read: a drop of exactly that message (fetched 11 after a seek to 10) is a
    # skip too. Faust's loop saw a "gap" of 1 there, i.e. none, and its commit then
    # went over offset 10 (``_new_offset`` allows a hole of one at the committed offset).
    consumer = a_consumer()
    log = Log(consumer, {ORDERS: list(range(0, 14))})
    await consumer.seek(ORDERS, 10)
    log.drop[ORDERS] = {10}
    await log.drain()
    assert log.delivered[ORDERS] == [10, 11, 12, 13]
    assert log.seeks == [(ORDERS, 10), (ORDERS, 10)]


async def test_a_seek_of_one_partition_keeps_the_other_partitions_records() -> None:
    # The watchdog re-reads one partition; the batch's records of the others are still
    # delivered (before, a seek stopped the whole batch and the others' records were
    # dropped while their fetch position had moved on).
    consumer = a_consumer()
    log = Log(consumer, {ORDERS: [0, 1, 2], PAYMENTS: [0, 1, 2]})
    sought = False

    async def callback(tp: TP, offset: int) -> None:
        nonlocal sought
        if tp == ORDERS and offset == 1 and not sought:
            sought = True
            await consumer.seek(ORDERS, 0)

    log.callback = callback
    await log.drain()
    assert log.delivered[PAYMENTS] == [0, 1, 2]
    assert log.delivered[ORDERS][:1] == [0] and set(log.delivered[ORDERS]) == {0, 1, 2}


# -- a recovery's seek to the committed offsets, with the fetcher running -------------

TIER = [TP("orders.retry.4s.v1", 0), TP("orders.retry.4s.v1", 1)]


class Broker:
    """Partitions, fetch positions and committed offsets that a consumer's fetches and
    seeks move as aiokafka's do: a fetch returns every record from the position on and
    moves the position past them; ``seek_to_committed`` asks for each partition's
    committed offset (a round trip, during which the fetcher runs) and seeks it there.

    The stream queue is ``queued``: messages delivered and waiting for their agent (it
    is busy, as a retry tier's agent is while a record waits). ``recover`` is what
    Faust's ``Recovery.on_recovery_completed`` does after every rebalance: seek, then
    ``flow_control.resume()`` (which clears every stream queue), then ``resume_flow``.
    """

    def __init__(self, end: int, committed: int) -> None:
        self.app = create_app("direct-delivery-recovery", load())
        self.consumer = self.app.consumer
        assert isinstance(self.consumer, DirectDeliveryConsumer)
        self.end = end
        self.committed = committed
        self.position = dict.fromkeys(TIER, committed)
        self.queued: list[tuple[TP, int]] = []
        self.recovered = False
        self.fetcher = SimpleNamespace(_stopped=asyncio.Event())
        consumer: Any = self.consumer
        consumer.getmany = self.getmany
        consumer.callback = self.deliver
        consumer.seek_to_committed = self.seek_to_committed

    async def deliver(self, m: Message) -> None:
        self.queued.append((m.tp, m.offset))

    async def round_trip(self) -> None:
        for _ in range(20):  # the fetcher's task runs meanwhile
            await asyncio.sleep(0)

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        await asyncio.sleep(0)  # the fetch request
        batch = [(tp, o) for tp in TIER for o in range(self.position[tp], self.end)]
        for tp in TIER:
            self.position[tp] = self.end
        if not batch and self.recovered:
            self.fetcher._stopped.set()
        for tp, offset in batch:
            if not self.consumer.flow_active:
                break
            yield tp, Message(tp.topic, tp.partition, offset, 0.0, 0, [], b"k", b"v", None)

    async def seek_to_committed(self) -> dict[TP, int]:
        for tp in TIER:
            await self.round_trip()  # OffsetFetch for this partition
            self.position[tp] = self.committed
        return dict.fromkeys(TIER, self.committed)

    async def recover(self) -> None:
        await self.round_trip()  # the partitions were resumed: the fetcher delivers
        await self.consumer.perform_seek()
        self.queued.clear()  # flow_control.resume() clears the stream queues
        self.consumer.resume_flow()
        self.recovered = True


@pytest.mark.parametrize(
    ("loop", "kept"),
    [(FaustConsumer._drain_messages, False), (DirectDeliveryConsumer._drain_messages, True)],
    ids=["faust", "direct"],
)
async def test_what_a_recovery_seek_overlaps_is_fetched_again_after_the_queues_clear(
    loop: Callable[..., Awaitable[None]], kept: bool
) -> None:
    # Three records wait on each partition above the committed offset (a worker was
    # stopped while they waited in a retry tier). The recovery seeks partition 0, and
    # while it asks for partition 1's offset the fetcher reads partition 0 again from
    # its committed offset and delivers it; the queues are cleared after the seek. With
    # Faust's loop (and this module's before the hold), partition 0's position is past
    # those records and nothing seeks it again: they are never processed (until the
    # next restart) and its commits stop.
    broker = Broker(end=6, committed=3)
    drain = asyncio.ensure_future(loop(broker.consumer, broker.fetcher))
    await broker.recover()
    await asyncio.wait_for(drain, 5)
    wanted = {(tp, offset) for tp in TIER for offset in range(3, 6)}
    assert (set(broker.queued) == wanted) is kept, sorted(broker.queued)


async def test_a_seek_waits_for_the_fetch_in_flight_and_holds_deliveries_until_resume() -> None:
    broker = Broker(end=5, committed=3)
    fetching, fetched = asyncio.Event(), asyncio.Event()
    events: list[str] = []
    plain_getmany = broker.getmany

    async def slow_getmany(timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        if not fetched.is_set():  # the first fetch: its answer comes late
            fetching.set()
            await fetched.wait()
            events.append("fetch returned")
        async for item in plain_getmany(timeout):
            yield item

    async def seek_to_committed() -> dict[TP, int]:
        events.append("seek")
        return await Broker.seek_to_committed(broker)

    async def deliver(m: Message) -> None:
        events.append(f"delivered {m.partition}@{m.offset}")
        broker.queued.append((m.tp, m.offset))

    consumer: Any = broker.consumer
    consumer.getmany, consumer.seek_to_committed, consumer.callback = (
        slow_getmany,
        seek_to_committed,
        deliver,
    )
    drain = asyncio.ensure_future(DirectDeliveryConsumer._drain_messages(consumer, broker.fetcher))
    await fetching.wait()
    seek = asyncio.ensure_future(consumer.perform_seek())
    await broker.round_trip()
    assert events == []  # the seek waits for the fetch in flight
    fetched.set()
    await seek
    assert events == ["fetch returned", "seek"]  # its batch was abandoned, not delivered
    await broker.round_trip()
    assert events == ["fetch returned", "seek"]  # held until the flow resumes
    consumer.resume_flow()
    broker.recovered = True
    await asyncio.wait_for(drain, 5)
    assert events[2:] == ["delivered 0@3", "delivered 0@4", "delivered 1@3", "delivered 1@4"]


async def test_a_seek_that_fails_releases_the_hold() -> None:
    broker = Broker(end=4, committed=3)

    async def unreachable() -> dict[TP, int]:
        raise ConnectionError("coordinator gone")

    consumer: Any = broker.consumer
    consumer.seek_to_committed = unreachable
    with pytest.raises(ConnectionError):
        await consumer.perform_seek()
    assert not consumer._held
    broker.recovered = True
    await asyncio.wait_for(DirectDeliveryConsumer._drain_messages(consumer, broker.fetcher), 5)
    assert sorted(broker.queued) == [(TIER[0], 3), (TIER[1], 3)]


async def test_a_reseek_in_the_middle_of_a_batch_reads_every_partition_again() -> None:
    # The commit watchdog's heal, while a batch of both partitions is being delivered.
    broker = Broker(end=6, committed=3)
    broker.recovered = True
    consumer: Any = broker.consumer

    async def deliver(m: Message) -> None:
        broker.queued.append((m.tp, m.offset))
        if len(broker.queued) == 1:
            await consumer.reseek()

    consumer.callback = deliver
    await asyncio.wait_for(DirectDeliveryConsumer._drain_messages(consumer, broker.fetcher), 5)
    assert not consumer._held
    assert broker.queued[0] == (TIER[0], 3)  # delivered before the seek, and again after
    assert sorted(broker.queued[1:]) == sorted((tp, o) for tp in TIER for o in range(3, 6))


class UncommittedBroker(Broker):
    """``Broker`` whose partitions have no committed offset, sought as aiokafka's
    ``seek_to_committed`` does: only a partition committed above 0 is moved."""

    def __init__(self, end: int, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(end=end, committed=0)
        consumer: Any = self.consumer
        del consumer.seek_to_committed  # the class's, whose parent is this broker's
        consumer._thread.seek_to_beginning = self.seek_to_beginning
        monkeypatch.setattr(
            direct_delivery.driver.Consumer,
            "seek_to_committed",
            lambda _consumer: self.aiokafka_seek_to_committed(),
        )
        self.position = dict.fromkeys(TIER, end)  # as after a fetch abandoned for a seek

    async def aiokafka_seek_to_committed(self) -> dict[TP, int | None]:
        for _tp in TIER:
            await self.round_trip()
        return dict.fromkeys(TIER, None)  # never committed: no partition is moved

    async def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        assert all(isinstance(tp, TopicPartition) for tp in partitions)  # aiokafka checks
        await self.round_trip()  # ListOffsets
        for tp in partitions:
            self.position[TP(tp.topic, tp.partition)] = 0


async def test_partitions_without_a_commit_are_sought_to_their_start_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A retry tier nobody committed on yet: its records were fetched before the
    # recovery's seek and abandoned; aiokafka's seek leaves the position past them.
    broker = UncommittedBroker(end=2, monkeypatch=monkeypatch)
    drain = asyncio.ensure_future(
        DirectDeliveryConsumer._drain_messages(broker.consumer, broker.fetcher)
    )
    await broker.recover()
    await asyncio.wait_for(drain, 5)
    assert sorted(broker.queued) == sorted((tp, o) for tp in TIER for o in range(2))


async def test_a_changelog_without_a_commit_is_left_to_the_recovery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broker = UncommittedBroker(end=2, monkeypatch=monkeypatch)
    monkeypatch.setattr(
        type(broker.app.tables), "changelog_topics", property(lambda self: {TIER[0].topic})
    )
    await broker.consumer.seek_to_committed()
    assert broker.position == dict.fromkeys(TIER, 2)


# -- the commit never goes over the message at the committed offset -------------------


@pytest.mark.parametrize(
    ("committed", "acked", "gap", "new"),
    [
        (12, [12, 13], None, 14),  # the committed offset's message was processed
        (12, [13, 14], None, None),  # it was not: Faust 0.15.3 committed 15 over it
        (12, [14, 15], None, None),
        (12, [13, 14], (12, 13), 15),  # a real gap in the log at the committed offset
        (None, [5, 6], None, 7),  # no commit yet: the start is not known here
    ],
)
def test_a_commit_never_goes_over_an_unprocessed_committed_offset(
    committed: int | None, acked: list[int], gap: tuple[int, int] | None, new: int | None
) -> None:
    consumer = a_consumer()
    consumer._committed_offset[ORDERS] = committed
    consumer._acked[ORDERS] = list(acked)
    if gap is not None:
        consumer._gap[ORDERS].addi(*gap)
    assert consumer._new_offset(ORDERS) == new


def test_faust_own_commit_goes_over_one_unprocessed_message() -> None:
    consumer = a_consumer()
    consumer._committed_offset[ORDERS] = 12
    consumer._acked[ORDERS] = [13, 14]
    assert FaustConsumer._new_offset(consumer, ORDERS) == 15  # offset 12: lost


async def test_a_seek_after_the_flow_stopped_does_not_wait_for_a_parked_fetch() -> None:
    # A rebalance that only takes partitions away: the flow stops (revoke), and the seek
    # of the assignment runs before the flow resumes (no recovery resumes it first).
    # Faust's getmany parks until the flow resumes; a fetch started after the stop
    # would hold the seek, which the resume waits for: the worker read nothing more.
    broker = Broker(end=5, committed=3)
    consumer: Any = broker.consumer
    plain_getmany = broker.getmany

    async def faust_getmany(timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        if not consumer.flow_active:  # Faust's _wait_next_records
            await consumer.can_resume_flow.wait()
        async for item in plain_getmany(timeout):
            yield item

    consumer.getmany = faust_getmany
    drain = asyncio.ensure_future(DirectDeliveryConsumer._drain_messages(consumer, broker.fetcher))
    await broker.round_trip()
    broker.queued.clear()
    consumer.stop_flow()  # the revoke
    await broker.round_trip()  # the drain loop goes round while the group re-forms
    await asyncio.wait_for(consumer.perform_seek(), 5)  # the assignment's seek
    consumer.resume_flow()
    broker.recovered = True
    await asyncio.wait_for(drain, 5)
    assert sorted(broker.queued) == [(tp, o) for tp in TIER for o in (3, 4)]
