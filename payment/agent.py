"""Wiring of the payment worker: orders and outcomes -> ``domain`` -> ``payments.v1``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime

import faust
import msgspec
from faust.types import AgentT, TableT

from contracts import OrderCancelled, OrderCompleted, OrderOutcome, OrderPlaced, topics
from contracts.topics import TopicSpec
from payment import domain
from payment.settings import PaymentSettings
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

log = logging.getLogger(__name__)

AGENT = "authorize_payments"
LEDGER = "ledger"
#: Everything the agent reads; both keyed by order id and co-partitioned.
INPUTS: tuple[TopicSpec, ...] = (topics.ORDERS, topics.OUTCOMES)

Clock = Callable[[], datetime]


def install(
    app: faust.App,
    settings: PaymentSettings,
    *,
    failures: FailureRoute | None,
    publish: Publish | None = None,
    clock: Clock | None = None,
) -> AgentT[bytes]:
    """Add the ledger table and the ``authorize_payments`` agent to ``app``.

    The agent reads ``orders.v1`` (``OrderPlaced``: ``domain.settle``) and
    ``orders.outcome.v1`` (``OrderCancelled``/``OrderCompleted``: ``domain.compensate``).
    The ledger maps an order id (UTF-8 bytes) to its ``PaymentRecord`` bytes. It has
    as many partitions as its inputs and Faust writes each entry to the changelog
    partition of the event being processed, so it is co-partitioned with them: the
    worker that owns an order's partition also owns its record, and restores it from
    the changelog after a restart or rebalance.

    Forgetting: after each event, the entries of the same partition whose retention
    has passed (``domain.forget_at``) are deleted, found through an ``ExpiryIndex``.

    ``publish`` replaces the real ``payments.v1`` producer and ``clock`` the wall clock,
    in tests.
    """
    source = bind(app, *INPUTS)
    emit = publisher(bind(app, topics.PAYMENTS)) if publish is None else publish
    now = clock or (lambda: datetime.now(UTC))
    rules, retention = settings.rules, settings.retention
    partitions = app.conf.topic_partitions
    expiry = ExpiryIndex()
    ledger = app.Table(
        LEDGER,
        partitions=partitions,
        key_type=bytes,
        value_type=bytes,
        help="order id -> PaymentRecord (MessagePack): what payment did for each order",
    )

    def begin() -> tuple[int, datetime]:
        """The partition of the event being processed, and now.

        On the first event after an assignment the table is restored: index it first.
        """
        if not expiry.built:
            expiry.rebuild(_expiries(ledger, partitions, retention))
        return current_partition(), now()

    async def handle(event: OrderPlaced | OrderOutcome) -> None:
        partition, at = begin()
        key = event.order_id.encode()
        stored = ledger.get(key)
        record = None if stored is None else domain.load_record(stored)
        if isinstance(event, OrderPlaced):
            step = domain.decide_charge(record, event, rules, at=at, retention=retention)
        else:
            step = domain.compensate(record, event, at=at, retention=retention)
        if step.record is not None and step.record is not record:
            ledger[key] = domain.dump_record(step.record)
            expiry.note(partition, key, domain.forget_at(step.record, retention).timestamp())
        for out in step.emit:
            await emit(out)
        forget_expired(partition, at)

    def forget_expired(partition: int, at: datetime) -> None:
        for key in expiry.due(partition, at.timestamp()):
            stored = ledger.get(key)
            # Written again since this note: its latest write is noted for later.
            if stored is not None and domain.forget_at(domain.load_record(stored), retention) <= at:
                del ledger[key]

    guard = EventGuard(
        AGENT,
        {OrderPlaced: handle, OrderCancelled: handle, OrderCompleted: handle},
        failures=failures,
    )

    async def authorize_payments(stream: faust.StreamT[bytes]) -> AsyncIterator[Disposition]:
        async for disposition in guard.process(stream):
            yield disposition

    # The table is restored from its changelog on every assignment: rebuild the index.
    on_reassignment(app, expiry.clear)
    return app.agent(source, name=AGENT)(authorize_payments)


def _expiries(
    ledger: TableT[bytes, bytes], partitions: int, retention: domain.Retention
) -> Iterator[tuple[int, bytes, float]]:
    for key, data in list(ledger.items()):
        try:
            record = domain.load_record(data)
        except (msgspec.DecodeError, ValueError) as exc:
            # Never let one bad entry stop every event: it stays, and is not forgotten.
            log.error("ledger entry %r is unreadable, kept as is: %s", key, exc)
            continue
        yield (
            default_partition(key, partitions),
            key,
            domain.forget_at(record, retention).timestamp(),
        )
