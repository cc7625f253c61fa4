"""Wiring of the payment worker: ``orders.v1`` -> ``domain.settle`` -> ``payments.v1``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import faust
from faust.types import AgentT

from contracts import OrderPlaced, topics
from payment.domain import dump_record, load_record, settle
from payment.settings import PaymentSettings
from streaming import EventGuard, Outcome, Publish, bind, publisher

AGENT = "authorize_payments"
LEDGER = "ledger"


def install(
    app: faust.App, settings: PaymentSettings, *, publish: Publish | None = None
) -> AgentT[bytes]:
    """Add the ledger table and the ``authorize_payments`` agent to ``app``.

    The ledger maps an order id (UTF-8 bytes) to its ``PaymentRecord`` bytes. It has
    as many partitions as ``orders.v1`` and Faust writes each entry to the changelog
    partition of the event being processed, so it is co-partitioned with its input:
    the worker that owns an order's partition also owns its record, and restores it
    from the changelog after a restart or rebalance. ``publish`` replaces the real
    ``payments.v1`` producer in tests.
    """
    orders = bind(app, topics.ORDERS)
    emit = publisher(bind(app, topics.PAYMENTS)) if publish is None else publish
    rules = settings.rules
    ledger = app.Table(
        LEDGER,
        partitions=app.conf.topic_partitions,
        key_type=bytes,
        value_type=bytes,
        help="order id -> PaymentRecord (JSON): what payment decided for each order",
    )

    async def on_order_placed(order: OrderPlaced) -> None:
        key = order.order_id.encode()
        stored = ledger.get(key)
        record, event = settle(None if stored is None else load_record(stored), order, rules)
        if stored is None:
            ledger[key] = dump_record(record)
        await emit(event)

    guard = EventGuard(AGENT, {OrderPlaced: on_order_placed})

    async def authorize_payments(stream: faust.StreamT[bytes]) -> AsyncIterator[Outcome]:
        async for outcome in guard.process(stream):
            yield outcome

    return app.agent(orders, name=AGENT)(authorize_payments)
