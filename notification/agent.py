"""Wiring of the notification worker: outcomes and payments -> ``domain`` -> sender, notices."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta

import faust
import msgspec
from faust.types import AgentT, TableT

from contracts import (
    OrderCancelled,
    OrderCompleted,
    OrderOutcome,
    PaymentAuthorized,
    PaymentDeclined,
    PaymentRefunded,
    topics,
)
from contracts.topics import TopicSpec
from notification import domain
from notification.senders import Sender
from notification.settings import NotificationSettings
from streaming import (
    Disposition,
    EventGuard,
    FailureRoute,
    Publish,
    bind,
    current_partition,
    on_reassignment,
    publisher,
)
from streaming.expiry import ExpiryIndex, default_partition
from streaming.write_behind import written_through

log = logging.getLogger(__name__)

AGENT = "notify_customers"
TABLE = "notices"
#: Everything the agent reads; both keyed by order id and co-partitioned.
INPUTS: tuple[TopicSpec, ...] = (topics.OUTCOMES, topics.PAYMENTS)

Clock = Callable[[], datetime]


def install(
    app: faust.App,
    settings: NotificationSettings,
    *,
    failures: FailureRoute | None,
    sender: Sender,
    publish: Publish | None = None,
    clock: Clock | None = None,
) -> AgentT[bytes]:
    """Add the ``notices`` table and the ``notify_customers`` agent to ``app``.

    The table maps an order id (UTF-8 bytes) to its ``domain.NoticeRecord`` bytes:
    the payment facts until the outcome, then a ``Notified`` marker. It is
    co-partitioned with the inputs (Faust writes each entry to the changelog partition
    of the event being processed).

    An outcome is handled in this order: compose the notice (``domain.notify``), have
    ``sender`` deliver it, publish its ``NotificationSent``, then record the marker. If
    the sender fails, nothing is recorded. A crash after the delivery but before the
    input's offset is committed may deliver the notice again (the redelivered outcome
    finds no marker if its write was lost too); the ``NotificationSent`` then carries the
    same id, so the timeline shows it once. The marker's changelog record is therefore
    sent at once; the payment facts' wait for the next flush, like every table write
    (``streaming.write_behind``), and the marker supersedes them. Entries are forgotten
    ``settings.retention`` after their last change (``ExpiryIndex``, as in the payment
    worker).

    ``publish`` replaces the ``notifications.v1`` producer and ``clock`` the wall clock,
    in tests.
    """
    source = bind(app, *INPUTS)
    emit = publisher(bind(app, topics.NOTIFICATIONS)) if publish is None else publish
    now = clock or (lambda: datetime.now(UTC))
    retention = settings.retention
    partitions = app.conf.topic_partitions
    expiry = ExpiryIndex()
    table = app.Table(
        TABLE,
        partitions=partitions,
        key_type=bytes,
        value_type=bytes,
        help="order id -> NoticeRecord (MessagePack): payment facts, then the notified marker",
    )

    def begin() -> tuple[int, datetime]:
        """The partition of the event being processed, and now.

        On the first event after an assignment the table is restored: index it first.
        """
        if not expiry.built:
            expiry.rebuild(_expiries(table, partitions, retention))
        return current_partition(), now()

    def load(key: bytes) -> domain.NoticeRecord | None:
        stored = table.get(key)
        return None if stored is None else domain.load_record(stored)

    def keep(key: bytes, record: domain.NoticeRecord, partition: int) -> None:
        table[key] = domain.dump_record(record)
        expiry.note(partition, key, domain.forget_at(record, retention).timestamp())

    async def on_payment(event: domain.PaymentEvent) -> None:
        partition, at = begin()
        key = event.order_id.encode()
        record = load(key)
        kept = domain.observe(record, event, at=at, retention=retention)
        if kept is not None and kept is not record:
            keep(key, kept, partition)
        forget_expired(partition, at)

    async def on_outcome(outcome: OrderOutcome) -> None:
        partition, at = begin()
        key = outcome.order_id.encode()
        record = load(key)
        step = domain.notify(record, outcome, channel=sender.channel, at=at, retention=retention)
        if step.notice is not None and step.record is not None:
            await sender.send(step.notice)
            await emit(step.notice)
            log.debug("%s: %s notified (%s)", AGENT, outcome.order_id, step.notice.subject)
            # The marker goes out at once, not with the next flush (``streaming.write_behind``):
            # lost in a crash, it would let the redelivered outcome send the notice again.
            with written_through(table):
                keep(key, step.record, partition)
        elif step.record is not None and step.record is not record:
            keep(key, step.record, partition)
        forget_expired(partition, at)

    def forget_expired(partition: int, at: datetime) -> None:
        for key in expiry.due(partition, at.timestamp()):
            record = load(key)
            # Written again since this note: its latest write is noted for later.
            if record is not None and domain.forget_at(record, retention) <= at:
                del table[key]

    guard = EventGuard(
        AGENT,
        {
            PaymentAuthorized: on_payment,
            PaymentDeclined: on_payment,
            PaymentRefunded: on_payment,
            OrderCompleted: on_outcome,
            OrderCancelled: on_outcome,
        },
        failures=failures,
    )

    async def notify_customers(stream: faust.StreamT[bytes]) -> AsyncIterator[Disposition]:
        async for disposition in guard.process(stream):
            yield disposition

    # The table is restored from its changelog on every assignment: rebuild the index.
    on_reassignment(app, expiry.clear)
    return app.agent(source, name=AGENT)(notify_customers)


def _expiries(
    table: TableT[bytes, bytes], partitions: int, retention: timedelta
) -> Iterator[tuple[int, bytes, float]]:
    for key, data in list(table.items()):
        try:
            record = domain.load_record(data)
        except (msgspec.DecodeError, ValueError) as exc:
            # Never let one bad entry stop every event: it stays, and is not forgotten.
            log.error("notices entry %r is unreadable, kept as is: %s", key, exc)
            continue
        yield (
            default_partition(key, partitions),
            key,
            domain.forget_at(record, retention).timestamp(),
        )
