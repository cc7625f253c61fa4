"""Wiring of the auditor: the saga's topics -> ``domain`` -> a verdict per order, counts
per partition on ``audit.v1`` and as Prometheus gauges."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field

import faust
from faust.types import TP, AgentT

from auditor import domain
from auditor.settings import AuditorSettings
from config.prometheus import Labels, Metrics
from contracts import (
    AuditKind,
    AuditSummary,
    Event,
    InventoryReleased,
    InventoryReserved,
    NotificationSent,
    OrderCancelled,
    OrderCompleted,
    OrderPlaced,
    PaymentAuthorized,
    PaymentRefunded,
    topics,
)
from contracts.topics import TopicSpec
from streaming import Disposition, EventGuard, FailureRoute, Publish, bind, publisher
from streaming.expiry import ExpiryIndex, default_partition
from streaming.guard import Handler
from streaming.upstream import commit_watchdog

AGENT = "audit_orders"
TABLE = "audits"
#: Everything the agent reads: keyed by order id and co-partitioned, so one worker owns
#: partition p of each and partition p of the table.
INPUTS: tuple[TopicSpec, ...] = (
    topics.ORDERS,
    topics.PAYMENTS,
    topics.INVENTORY,
    topics.OUTCOMES,
    topics.NOTIFICATIONS,
)
#: Every summary is published again after this many sweeps, changed or not.
HEARTBEAT_SWEEPS = 10

#: Seconds since the epoch, now.
Clock = Callable[[], float]


@dataclass
class Partition:
    """The in-memory index of one partition of the table: a cache, rebuilt from the table
    after every assignment, never state of its own."""

    orders: int = 0
    #: order id -> its verdict, for the orders that break something
    verdicts: dict[str, frozenset[AuditKind]] = field(default_factory=dict)
    #: keys of the orders whose verdict time may still change
    open: set[bytes] = field(default_factory=set)
    #: the time up to which every input has been read (None: not known yet)
    checked_at: float | None = None
    published: AuditSummary | None = None
    sweeps: int = 0


class Auditor:
    """The table, the index and the agent's handlers (``install`` wires them)."""

    def __init__(
        self,
        app: faust.App,
        settings: AuditorSettings,
        *,
        failures: FailureRoute | None,
        publish: Publish,
        clock: Clock,
    ) -> None:
        self.app = app
        self.group = settings.group
        self.timing = settings.timing
        self.retention = settings.retention_seconds
        self.publish = publish
        self.clock = clock
        self.partitions = app.conf.topic_partitions
        self.table = app.Table(
            TABLE,
            partitions=self.partitions,
            key_type=bytes,
            value_type=bytes,
            help="order id -> OrderFacts (MessagePack): its distinct events by id",
        )
        self.index: dict[int, Partition] = {}
        self.expiry = ExpiryIndex()
        self.built = False
        #: Tables are being recovered: the timer waits (set by ``reassigned``).
        self.settled = True
        #: (topic, partition) -> offset and record time of the newest event handled
        self.seen: dict[tuple[str, int], tuple[int, float]] = {}
        #: Where each assigned partition's reading is (replaced in tests, which have no
        #: consumer).
        self.snapshot: Callable[[], Mapping[TP, commit_watchdog.Snapshot]] = lambda: (
            commit_watchdog.snapshot(app)
        )
        types: tuple[type[Event], ...] = (
            OrderPlaced,
            PaymentAuthorized,
            PaymentRefunded,
            InventoryReserved,
            InventoryReleased,
            OrderCompleted,
            OrderCancelled,
            NotificationSent,
        )
        handlers: dict[type[Event], Handler] = dict.fromkeys(types, self.on_event)
        self.guard = EventGuard(AGENT, handlers, failures=failures)

    # -- the index -------------------------------------------------------------------

    def reassigned(self) -> None:
        """Partitions moved: the table is restored from its changelog; re-index then."""
        self.index.clear()
        self.expiry.clear()
        self.seen.clear()
        self.built = False
        self.settled = False

    def part(self, partition: int) -> Partition:
        found = self.index.get(partition)
        if found is None:
            found = self.index[partition] = Partition()
        return found

    def build(self) -> None:
        """Index every entry of the table (after an assignment, before the first use)."""
        if self.built:
            return
        self.index.clear()
        entries = []
        for key, data in list(self.table.items()):
            facts = domain.load(data)
            partition = default_partition(key, self.partitions)
            part = self.part(partition)
            part.orders += domain.audited(facts)
            self.judge(part, key, facts)
            entries.append((partition, key, self.forget_at(facts)))
        self.expiry.rebuild(entries)
        self.built = True

    def forget_at(self, facts: domain.OrderFacts) -> float:
        return domain.last_at(facts) + self.retention

    def judge(self, part: Partition, key: bytes, facts: domain.OrderFacts) -> None:
        """Recompute one order's verdict in the index."""
        order_id = key.decode()
        kinds = domain.verdict(facts, part.checked_at, self.timing)
        if kinds:
            part.verdicts[order_id] = kinds
        else:
            part.verdicts.pop(order_id, None)
        if domain.settled(facts, part.checked_at, self.timing):
            part.open.discard(key)
        else:
            part.open.add(key)

    # -- the agent ------------------------------------------------------------------

    def note(self) -> tuple[int, float, float] | None:
        """Note where the current message was read: its partition, record time and now
        (None outside of a stream)."""
        current = faust.current_event()
        if current is None:
            return None
        message = current.message
        now = self.clock()
        at = float(message.timestamp or now)
        self.seen[(message.topic, message.partition)] = (message.offset, at)
        return message.partition, at, now

    async def on_event(self, event: domain.AuditedEvent) -> None:
        noted = self.note()
        if noted is None:
            raise RuntimeError("an event is handled outside of its stream")
        partition, at, now = noted
        self.build()
        key = event.order_id.encode()
        stored = self.table.get(key)
        facts = None if stored is None else domain.load(stored)
        if facts is None and min(at, event.occurred_at.timestamp()) < now - self.retention:
            # An order forgotten (or never kept): old history, replayed or redriven (a
            # redriven record is new, its event is not), is not judged again.
            return
        folded = domain.fold(facts, event, at)
        part = self.part(partition)
        if folded is not facts:
            self.table[key] = domain.dump(folded)
            self.expiry.note(partition, key, self.forget_at(folded))
            part.orders += domain.audited(folded) and (facts is None or not domain.audited(facts))
            self.judge(part, key, folded)
        self.forget(part, partition, now)

    def forget(self, part: Partition, partition: int, now: float) -> None:
        for key in self.expiry.due(partition, now):
            stored = self.table.get(key)
            if stored is None:
                continue
            facts = domain.load(stored)
            if self.forget_at(facts) <= now:  # written again since: noted for later
                del self.table[key]
                part.orders -= domain.audited(facts)
                part.verdicts.pop(key.decode(), None)
                part.open.discard(key)

    # -- the timer ---------------------------------------------------------------------

    async def sweep(self) -> None:
        """Bring every owned partition's time-based checks up to date; publish what changed."""
        if not self.settled:
            return
        self.build()
        snapshot = self.snapshot()
        now = self.clock()
        owned = sorted(tp.partition for tp in snapshot if tp.topic == INPUTS[0].name)
        for partition in owned:
            part = self.part(partition)
            part.checked_at = checked_at(partition, snapshot, self.seen, now)
            for key in list(part.open):
                stored = self.table.get(key)
                if stored is None:
                    part.open.discard(key)
                else:
                    self.judge(part, key, domain.load(stored))
            summary = domain.summarize(
                part.verdicts,
                group=self.group,
                partition=partition,
                orders=part.orders,
                pending=len(part.open),
                checked_at=part.checked_at,
            )
            part.sweeps += 1
            if not domain.same_verdict(part.published, summary) or (
                part.sweeps % HEARTBEAT_SWEEPS == 0
            ):
                await self.publish(summary)
                part.published = summary

    # -- metrics -----------------------------------------------------------------------

    def counts(self) -> Iterable[tuple[Labels, float]]:
        totals = dict.fromkeys(domain.KINDS, 0)
        for part in list(self.index.values()):
            for kinds in list(part.verdicts.values()):
                for kind in kinds:
                    totals[kind] += 1
        return [({"kind": kind}, n) for kind, n in totals.items()]

    def orders(self) -> Iterable[tuple[Labels, float]]:
        return [({}, sum(p.orders for p in list(self.index.values())))]

    def pending(self) -> Iterable[tuple[Labels, float]]:
        return [({}, sum(len(p.open) for p in list(self.index.values())))]


def checked_at(
    partition: int,
    snapshot: Mapping[TP, commit_watchdog.Snapshot],
    seen: Mapping[tuple[str, int], tuple[int, float]],
    now: float,
) -> float | None:
    """The time up to which every input of ``partition`` has been read: ``now`` for an
    input read to its end, else the record time of the newest event handled from it;
    ``None`` while an input is neither (or not assigned here).

    Where an input is read to: past the newest event handled from it, and at least
    Faust's committed and read offsets (the read offset is the next one to read after
    a seek, the last one read after that: taken as is, it never claims too much)."""
    times = []
    for spec in INPUTS:
        tp = TP(spec.name, partition)
        reading = snapshot.get(tp)
        if reading is None:
            return None
        last = seen.get((spec.name, partition))
        position = max(
            reading.committed or 0, reading.read or 0, -1 if last is None else last[0] + 1
        )
        if (
            reading.highwater is not None
            and not reading.in_flight
            and position >= reading.highwater
        ):
            times.append(now)
        elif last is None:
            return None
        else:
            times.append(min(last[1], now))
    return min(times)


def install(
    app: faust.App,
    settings: AuditorSettings,
    *,
    failures: FailureRoute | None,
    metrics: Metrics | None = None,
    publish: Publish | None = None,
    clock: Clock | None = None,
) -> tuple[Auditor, AgentT[bytes]]:
    """Add the ``audits`` table, the ``audit_orders`` agent, the sweep timer and, with
    ``metrics``, the gauges ``saga_audit_violations{kind}``, ``saga_audit_orders`` and
    ``saga_audit_pending`` to ``app``.

    The table maps an order id (UTF-8 bytes) to its ``domain.OrderFacts``, written to the
    changelog partition of the event being processed (co-partitioned with the inputs).
    The verdicts live in an in-memory index of the table, rebuilt after every
    assignment; the timer (every ``settings.interval_seconds``) only reads the table:
    it re-judges the orders time may still change, and publishes each owned partition's
    ``AuditSummary`` when it changed (and every ``HEARTBEAT_SWEEPS`` sweeps).
    """
    emit = publisher(bind(app, topics.AUDIT)) if publish is None else publish
    auditor = Auditor(app, settings, failures=failures, publish=emit, clock=clock or time.time)

    async def audit_orders(stream: faust.StreamT[bytes]) -> AsyncIterator[Disposition]:
        async for disposition in auditor.guard.process(stream):
            # Every message moves its partition's reading on, dead-lettered ones too.
            auditor.note()
            yield disposition

    async def reassigned(*_: object, **__: object) -> None:
        auditor.reassigned()

    async def recovered(*_: object, **__: object) -> None:
        auditor.settled = True

    app.on_partitions_revoked.connect(reassigned)
    app.on_partitions_assigned.connect(reassigned)
    app.on_rebalance_complete.connect(recovered)
    app.timer(settings.interval_seconds, name="audit_sweep")(auditor.sweep)
    if metrics is not None:
        metrics.collect(
            "saga_audit_violations",
            "Orders of this auditor's partitions breaking each promise now",
            auditor.counts,
        )
        metrics.collect("saga_audit_orders", "Orders this auditor holds", auditor.orders)
        metrics.collect(
            "saga_audit_pending",
            "Orders whose verdict may still change with time (undecided or settling)",
            auditor.pending,
        )
    agent = app.agent(bind(app, *INPUTS), name=AGENT)(audit_orders)
    return auditor, agent
