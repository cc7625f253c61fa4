"""Wiring of the analytics worker: count per partition and minute, merge, publish snapshots.

Two agents and two timers, all in group ``analytics``::

    orders.v1 + orders.outcome.v1 + analytics.pageviews.v1
        -> count_events (tables: orders, buckets, watermarks; per partition, per minute)
        -> every interval, publish_minutes: each changed (partition, minute) as one
           MinuteCountsUpdated on analytics.minutes.v1, keyed by the group
        -> merge_minutes (table: minutes; the group's one partition of that topic, so
           one worker sees every partition's share)
        -> every interval, publish_snapshots: each changed window's TopProductsUpdated
           on analytics.snapshots.v1

The top N is computed once, from every partition's complete counts: correct globally
whichever worker counted what. Timers only read tables (Faust timers cannot write
them); each table entry is written while processing an event of the partition it
belongs to, so it lands in that partition's changelog. Window arithmetic, lateness,
merging and ranking are pure (``analytics.windows``, ``analytics.domain``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import faust
from faust.types import TableT

from analytics import domain
from analytics.domain import Metric
from analytics.settings import AnalyticsSettings
from analytics.windows import due_windows, minutes_in
from contracts import (
    MinuteCountsUpdated,
    OrderCancelled,
    OrderCompleted,
    OrderPlaced,
    PageViewed,
    topics,
)
from streaming import (
    Disposition,
    EventGuard,
    FailureRoute,
    Publish,
    bind,
    on_reassignment,
    publisher,
)
from streaming.expiry import ExpiryIndex, default_partition

log = logging.getLogger(__name__)

COUNTER = "count_events"
MERGER = "merge_minutes"
#: Everything ``count_events`` reads: one partition count, so one worker owns partition p
#: of all three (orders and outcomes are keyed by order id, page views by page).
INPUTS = (topics.ORDERS, topics.OUTCOMES, topics.PAGEVIEWS)

Clock = Callable[[], datetime]
#: The partitions of a topic this worker owns now.
Owned = Callable[[str], set[int]]


def install(
    app: faust.App,
    settings: AnalyticsSettings,
    *,
    failures: FailureRoute | None,
    publish_share: Publish | None = None,
    publish_snapshot: Publish | None = None,
    owned: Owned | None = None,
    clock: Clock | None = None,
) -> Installed:
    """Add the tables, both agents and both timers to ``app``.

    ``publish_share`` and ``publish_snapshot`` replace the producers of
    ``analytics.minutes.v1`` and ``analytics.snapshots.v1``, ``owned`` the assignment and
    ``clock`` the wall clock that stamps the messages, in tests.
    """
    partitions = app.conf.topic_partitions
    share = publisher(bind(app, topics.MINUTES)) if publish_share is None else publish_share
    snap = publisher(bind(app, topics.SNAPSHOTS)) if publish_snapshot is None else publish_snapshot
    now = clock or (lambda: datetime.now(UTC))
    mine = owned or _assigned(app)
    counter = Counter(app, settings, partitions, failures)
    merger = Merger(app, settings, partitions, failures)
    state = {"settled": True}

    async def count_events(stream: faust.StreamT[bytes]) -> AsyncIterator[Disposition]:
        async for outcome in counter.guard.process(stream):
            yield outcome

    async def merge_minutes(stream: faust.StreamT[bytes]) -> AsyncIterator[Disposition]:
        async for outcome in merger.guard.process(stream):
            yield outcome

    async def publish_minutes() -> None:
        if state["settled"]:
            await counter.publish(share, mine(topics.ORDERS.name), now())

    async def publish_snapshots() -> None:
        if state["settled"]:
            await merger.publish(snap, mine(topics.MINUTES.name), now())

    def unsettled() -> None:
        state["settled"] = False
        counter.reassigned()
        merger.reassigned()

    async def settled(*_: object, **__: object) -> None:
        state["settled"] = True  # tables recovered: the timers may read them again

    on_reassignment(app, unsettled)
    app.on_rebalance_complete.connect(settled)
    app.timer(settings.snapshot_interval, name="publish_minutes")(publish_minutes)
    app.timer(settings.snapshot_interval, name="publish_snapshots")(publish_snapshots)
    app.agent(bind(app, *INPUTS), name=COUNTER)(count_events)
    app.agent(bind(app, topics.MINUTES), name=MERGER)(merge_minutes)
    return Installed(counter, merger, publish_minutes, publish_snapshots)


class Installed:
    """What ``install`` added, for tests: both sides and both timer bodies."""

    def __init__(
        self,
        counter: Counter,
        merger: Merger,
        publish_minutes: Callable[[], object],
        publish_snapshots: Callable[[], object],
    ) -> None:
        self.counter = counter
        self.merger = merger
        self.publish_minutes = publish_minutes
        self.publish_snapshots = publish_snapshots


def _source() -> tuple[str, int, int]:
    """Topic, partition and offset of the message being processed."""
    event = faust.current_event()
    if event is None:
        raise RuntimeError("no event is being processed")
    message = event.message
    return message.topic, message.partition, message.offset


def _assigned(app: faust.App) -> Owned:
    def owned(topic: str) -> set[int]:
        return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}

    return owned


class Counter:
    """``count_events``: per-partition, per-minute counts, and their publication."""

    def __init__(
        self,
        app: faust.App,
        settings: AnalyticsSettings,
        partitions: int,
        failures: FailureRoute | None,
    ) -> None:
        self.group = settings.group
        self.grace = settings.grace
        self.retention = settings.retention
        self.partitions = partitions
        self.orders = _table(app, "orders", partitions, "order id -> Memo (MessagePack)")
        self.buckets = _table(
            app, "buckets", partitions, "metric/partition/minute -> Bucket (MessagePack)"
        )
        self.watermarks = _table(
            app, "watermarks", partitions, "topic/partition -> greatest occurred_at (us)"
        )
        self.memo_expiry = ExpiryIndex()
        self.bucket_expiry = ExpiryIndex()
        #: (partition, minute) whose counts changed since they were last published.
        self.changed: set[tuple[int, datetime]] = set()
        self.rescan = False
        self.guard = EventGuard(
            COUNTER,
            {
                OrderPlaced: self.on_placed,
                OrderCompleted: self.on_outcome,
                OrderCancelled: self.on_outcome,
                PageViewed: self.on_page_view,
            },
            failures=failures,
        )

    def reassigned(self) -> None:
        """The tables are restored from their changelogs: re-index, republish all."""
        self.memo_expiry.clear()
        self.bucket_expiry.clear()
        self.changed.clear()
        self.rescan = True

    async def on_placed(self, event: OrderPlaced) -> None:
        topic, partition, offset = _source()
        watermark = self._advance(topic, partition, event.occurred_at)
        key = event.order_id.encode()
        step = domain.on_placed(
            self._memo(key), event, offset=offset, watermark=watermark, grace=self.grace
        )
        self._record(key, step, topic, partition, offset, watermark)

    async def on_outcome(self, event: OrderCompleted | OrderCancelled) -> None:
        topic, partition, offset = _source()
        watermark = self._advance(topic, partition, event.occurred_at)
        key = event.order_id.encode()
        step = domain.on_outcome(
            self._memo(key), event, offset=offset, watermark=watermark, grace=self.grace
        )
        self._record(key, step, topic, partition, offset, watermark)

    async def on_page_view(self, event: PageViewed) -> None:
        topic, partition, offset = _source()
        watermark = self._advance(topic, partition, event.occurred_at)
        part = domain.on_page_view(event, watermark=watermark, grace=self.grace)
        self._add(part, topic, partition, offset)
        self._forget_buckets(partition, watermark)

    def _memo(self, key: bytes) -> domain.Memo | None:
        stored = self.orders.get(key)
        return None if stored is None else domain.load_memo(stored)

    def _record(
        self,
        key: bytes,
        step: domain.MemoStep,
        topic: str,
        partition: int,
        offset: int,
        watermark: datetime,
    ) -> None:
        for part in step.adds:  # counts first: a memo is never ahead of its counts
            self._add(part, topic, partition, offset)
        data = domain.dump(step.memo)
        if self.orders.get(key) != data:
            self.orders[key] = data
            at = domain.forget_at(step.memo, self.retention).timestamp()
            self._indexed(self.memo_expiry).note(partition, key, at)
        self._forget_memos(partition, watermark)
        self._forget_buckets(partition, watermark)

    def _add(self, part: domain.Contribution, topic: str, partition: int, offset: int) -> None:
        key = bucket_key(part.metric, partition, part.minute)
        stored = self.buckets.get(key)
        bucket = None if stored is None else domain.load_bucket(stored)
        added = domain.add(bucket, part, topic=topic, offset=offset)
        if added is not None:
            self.buckets[key] = domain.dump(added)
            at = (part.minute + self.retention).timestamp()
            self._indexed(self.bucket_expiry).note(partition, key, at)
            self.changed.add((partition, part.minute))

    def _advance(self, topic: str, partition: int, at: datetime) -> datetime:
        """The partition's watermark including ``at``; stored when it moved."""
        key = f"{topic}/{partition}".encode()
        stored = self.watermarks.get(key)
        seen = None if stored is None else datetime.fromtimestamp(int(stored) / 1e6, UTC)
        if seen is not None and seen >= at:
            return seen
        self.watermarks[key] = str(round(at.timestamp() * 1e6)).encode()
        return at

    def _forget_memos(self, partition: int, watermark: datetime) -> None:
        for key in self._indexed(self.memo_expiry).due(partition, watermark.timestamp()):
            memo = self._memo(key)
            if memo is not None and domain.forget_at(memo, self.retention) <= watermark:
                del self.orders[key]

    def _forget_buckets(self, partition: int, watermark: datetime) -> None:
        for key in self._indexed(self.bucket_expiry).due(partition, watermark.timestamp()):
            _, _, minute = parse_bucket_key(key)
            if key in self.buckets and minute + self.retention <= watermark:
                del self.buckets[key]

    def _indexed(self, index: ExpiryIndex) -> ExpiryIndex:
        """``index``, built from its table first if the assignment changed since."""
        if not index.built:
            if index is self.memo_expiry:
                index.rebuild(self._memo_entries())
            else:
                index.rebuild(
                    (parse_bucket_key(key)[1], key, (minute + self.retention).timestamp())
                    for key, minute in self._bucket_minutes()
                )
        return index

    def _memo_entries(self) -> list[tuple[int, bytes, float]]:
        entries = []
        for key, data in list(self.orders.items()):
            memo = domain.load_memo(data)
            at = domain.forget_at(memo, self.retention).timestamp()
            entries.append((default_partition(key, self.partitions), key, at))
        return entries

    def _bucket_minutes(self) -> list[tuple[bytes, datetime]]:
        return [(key, parse_bucket_key(key)[2]) for key in list(self.buckets.keys())]

    async def publish(self, send: Publish, owned: set[int], at: datetime) -> None:
        """Publish the counts of every changed (partition, minute) this worker owns."""
        if self.rescan:
            self.rescan = False
            self.changed |= {
                (parse_bucket_key(key)[1], minute) for key, minute in self._bucket_minutes()
            }
        for partition, minute in sorted(self.changed):
            if partition not in owned:
                self.changed.discard((partition, minute))
                continue
            buckets = {}
            for metric in domain.METRICS:
                stored = self.buckets.get(bucket_key(metric, partition, minute))
                if stored is not None:
                    buckets[metric] = domain.load_bucket(stored)
            counts = domain.counts_of(buckets)
            await send(domain.share_message(self.group, partition, minute, counts, at=at))
            self.changed.discard((partition, minute))


class Merger:
    """``merge_minutes``: every partition's minutes in one place, and the snapshots."""

    def __init__(
        self,
        app: faust.App,
        settings: AnalyticsSettings,
        partitions: int,
        failures: FailureRoute | None,
    ) -> None:
        self.group = settings.group
        self.top = settings.top
        self.retention = settings.retention
        #: The one partition of ``analytics.minutes.v1`` this group's shares go to.
        self.home = default_partition(settings.group.encode(), partitions)
        self.minutes = _table(
            app, "minutes", partitions, "minute/partition -> merged Counts (MessagePack)"
        )
        self.changed: set[datetime] = set()
        self.latest: datetime | None = None
        self.published_latest: datetime | None = None
        self.rescan = False
        self.guard = EventGuard(MERGER, {MinuteCountsUpdated: self.on_share}, failures=failures)

    def reassigned(self) -> None:
        self.changed.clear()
        self.latest = self.published_latest = None
        self.rescan = True

    async def on_share(self, event: MinuteCountsUpdated) -> None:
        if event.group != self.group:
            return  # another analytics group's (a test, a rebuild into a new group)
        key = minute_key(event.minute_start, event.partition)
        stored = self.minutes.get(key)
        merged = domain.merge(
            None if stored is None else domain.load_counts(stored), domain.share_counts(event)
        )
        data = domain.dump(merged)
        if data != stored:
            self.minutes[key] = data
            self.changed.add(event.minute_start)
        if self.latest is None or event.minute_start > self.latest:
            self.latest = event.minute_start
            self._forget(event.minute_start - self.retention)

    def _forget(self, before: datetime) -> None:
        for key in list(self.minutes.keys()):
            if parse_minute_key(key)[0] < before:
                del self.minutes[key]

    async def publish(self, send: Publish, owned: set[int], at: datetime) -> None:
        """Publish a snapshot of every window whose counts changed (see ``due_windows``)."""
        if self.home not in owned:
            self.changed.clear()
            return
        shares: dict[datetime, list[domain.Counts]] = {}
        for key, data in list(self.minutes.items()):
            minute, _ = parse_minute_key(key)
            shares.setdefault(minute, []).append(domain.load_counts(data))
        if self.rescan:
            self.rescan = False
            self.changed |= set(shares)
        if not shares or not self.changed:
            return
        latest = max(shares)
        for window in due_windows(self.changed, latest, self.published_latest):
            counts = domain.total(c for m in minutes_in(window) for c in shares.get(m, ()))
            if not counts.is_empty():
                await send(domain.snapshot(window, counts, top=self.top, at=at))
        self.changed.clear()
        self.published_latest = latest


def bucket_key(metric: Metric, partition: int, minute: datetime) -> bytes:
    """``demand/3/1767225600``: a bucket's table key (the minute as epoch seconds)."""
    return f"{metric}/{partition}/{int(minute.timestamp())}".encode()


def parse_bucket_key(key: bytes) -> tuple[str, int, datetime]:
    metric, partition, epoch = key.decode().split("/")
    return metric, int(partition), datetime.fromtimestamp(int(epoch), UTC)


def minute_key(minute: datetime, partition: int) -> bytes:
    """``1767225600/3``: a merged share's table key."""
    return f"{int(minute.timestamp())}/{partition}".encode()


def parse_minute_key(key: bytes) -> tuple[datetime, int]:
    epoch, partition = key.decode().split("/")
    return datetime.fromtimestamp(int(epoch), UTC), int(partition)


def _table(app: faust.App, name: str, partitions: int, help: str) -> TableT[bytes, bytes]:
    return app.Table(name, partitions=partitions, key_type=bytes, value_type=bytes, help=help)
