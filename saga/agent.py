"""Wiring of the saga worker: orders, answers and ticks -> ``domain`` -> ``orders.outcome.v1``."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime

import faust
from faust.types import AgentT, TableT

from contracts import (
    DeadlineTick,
    InventoryRejected,
    InventoryReserved,
    OrderPlaced,
    PaymentAuthorized,
    PaymentDeclined,
    encode,
    key_of,
    topics,
)
from contracts.topics import TopicSpec
from saga import domain
from saga.agenda import Agenda
from saga.domain import SagaInput, SagaState, SagaStep
from saga.settings import SagaSettings
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

log = logging.getLogger(__name__)

AGENT = "decide_orders"
TICKER = "publish_ticks"
TABLE = "sagas"
#: The correlation id of every tick.
TICKER_ID = "saga-ticker"
#: Everything the agent reads; all keyed by order id and co-partitioned (the ticks
#: carry their partition instead of a key).
INPUTS: tuple[TopicSpec, ...] = (
    topics.ORDERS,
    topics.PAYMENTS,
    topics.INVENTORY,
    topics.SAGA_TICKS,
)

Flush = Callable[[], Awaitable[None]]
Clock = Callable[[], datetime]


def install(
    app: faust.App,
    settings: SagaSettings,
    *,
    failures: FailureRoute | None,
    publish: Publish | None = None,
    flush: Flush | None = None,
    clock: Clock | None = None,
) -> AgentT[bytes]:
    """Add the ``sagas`` table, the ``decide_orders`` agent and the tick timer to ``app``.

    The timer runs on every worker: every ``settings.tick_interval`` it publishes a
    ``DeadlineTick`` to each partition of ``saga.ticks.v1`` the worker owns whose index
    is not built yet or has an order due (``Agenda.wants_tick``), and to no other. (It
    was the group leader's, for every partition, every interval: 12 records a second
    with nothing to do.)

    The table maps an order id (UTF-8 bytes) to its ``domain.SagaState`` bytes, with as
    many partitions as the inputs; Faust writes each entry to the changelog partition
    of the event being processed, which for an order's events is the order's partition,
    and for a tick of partition p (only ever touching orders of p) is p.

    Decisions from answers need no flush: they depend only on which answers arrived
    (``domain``), so if a crash loses the table write after the outcome went out, the
    redelivered answers decide the same outcome again, with the same event id. Only a
    deadline decision can differ from what the answers would decide, so a *timeout*
    is sent only after the table write that records it is flushed to Kafka (the
    producer's flush sends the tables' held records first: ``streaming.write_behind``);
    and after every partition assignment ticks wait ``RECOVERY_GRACE_S`` so that redelivered
    answers are judged before any deadline is. (A flush per decision capped one worker
    at ~200-250 orders/s; without it, 300-470 measured on the same backlog.)
    If the crash loses the send instead, the redelivered deciding event re-sends it
    (``domain.react``/``domain.tick``).

    ``publish`` replaces the ``orders.outcome.v1`` producer, ``flush`` the producer
    flush and ``clock`` the wall clock, in tests.
    """
    source = bind(app, *INPUTS)
    ticks = bind(app, topics.SAGA_TICKS)
    emit = publisher(bind(app, topics.OUTCOMES)) if publish is None else publish
    now = clock or (lambda: datetime.now(UTC))
    timing = settings.timing
    partitions = app.conf.topic_partitions
    agenda = Agenda(timing)
    table = app.Table(
        TABLE,
        partitions=partitions,
        key_type=bytes,
        value_type=bytes,
        help="order id -> SagaState (JSON): what the saga knows and decided about each order",
    )

    async def flush_producer() -> None:
        await app.producer.flush()

    durable = flush or flush_producer

    recovery = {"until": 0.0}

    async def apply(
        steps: list[tuple[bytes, bytes | None, SagaStep]], partition: int, *, flush_first: bool
    ) -> None:
        """Write each step's state (when it changed), then send the outcomes."""
        for key, stored, step in steps:
            if step.state is None:
                if stored is not None:
                    del table[key]
            else:
                data = domain.dump_state(step.state)
                if data != stored:
                    table[key] = data
            agenda.note(key, step.state, partition)
        outcomes = [outcome for _, _, step in steps for outcome in step.emit]
        if outcomes:
            if flush_first:
                await durable()
            for outcome in outcomes:
                await emit(outcome)

    async def on_order_event(event: SagaInput) -> None:
        partition = current_partition()
        key = event.order_id.encode()
        stored = table.get(key)
        state = None if stored is None else domain.load_state(stored)
        step = domain.react(state, event, partition=partition, now=now(), timing=timing)
        await apply([(key, stored, step)], partition, flush_first=False)

    async def on_tick(tick: DeadlineTick) -> None:
        if time.monotonic() < recovery["until"]:
            return  # just (re)assigned: let redelivered answers in before judging deadlines
        partition = current_partition()
        if tick.partition != partition:
            # Its writes would land in another partition's changelog: never act on it.
            log.warning(
                "%s: tick for partition %d read from partition %d, ignored",
                AGENT,
                tick.partition,
                partition,
            )
            return
        if not agenda.has(partition):
            agenda.rebuild(partition, _states(table))
        steps, at = [], domain.tick_time(tick, now())  # never ahead of the wall clock
        for key in agenda.due(partition, at, str(tick.event_id)):
            stored = table.get(key)
            if stored is None:
                agenda.note(key, None, partition)
            else:
                step = domain.tick(domain.load_state(stored), tick, timing=timing, now=at)
                steps.append((key, stored, step))
        await apply(steps, partition, flush_first=True)

    guard = EventGuard(
        AGENT,
        {
            OrderPlaced: on_order_event,
            PaymentAuthorized: on_order_event,
            PaymentDeclined: on_order_event,
            InventoryReserved: on_order_event,
            InventoryRejected: on_order_event,
            DeadlineTick: on_tick,
        },
        failures=failures,
    )

    async def decide_orders(stream: faust.StreamT[bytes]) -> AsyncIterator[Disposition]:
        async for disposition in guard.process(stream):
            yield disposition

    def forget_index() -> None:
        agenda.clear()
        recovery["until"] = time.monotonic() + RECOVERY_GRACE_S

    # The table is restored from its changelog on every assignment: rebuild the index.
    on_reassignment(app, forget_index)

    async def publish_ticks() -> None:
        at, mine = now(), owned_ticks()
        for tick in tick_events(partitions, at):
            if tick.partition in mine and agenda.wants_tick(tick.partition, at):
                await ticks.send(key=key_of(tick), value=encode(tick), partition=tick.partition)

    def owned_ticks() -> set[int]:
        return {
            tp.partition
            for tp in app.assignor.assigned_actives()
            if tp.topic == topics.SAGA_TICKS.name
        }

    # Every worker ticks the partitions it owns, and only when one of its orders there is
    # due (``Agenda.wants_tick``): no leader, and no ticks while nothing is due.
    app.timer(settings.tick_interval, name=TICKER)(publish_ticks)
    return app.agent(source, name=AGENT)(decide_orders)


#: Seconds after a partition assignment during which ticks are ignored (see ``install``).
RECOVERY_GRACE_S = 3.0


def tick_events(partitions: int, at: datetime | None = None) -> list[DeadlineTick]:
    """One ``DeadlineTick`` per partition, all stamped ``at`` (now when omitted)."""
    when = at or datetime.now(UTC)
    return [
        DeadlineTick(occurred_at=when, correlation_id=TICKER_ID, partition=p)
        for p in range(partitions)
    ]


def _states(table: TableT[bytes, bytes]) -> Iterator[tuple[bytes, SagaState]]:
    for key, data in list(table.items()):
        yield key, domain.load_state(data)
