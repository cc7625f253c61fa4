"""Wiring of the inventory worker: ``orders.v1`` + ``orders.outcome.v1`` -> the store ->
``inventory.v1`` (reservations, rejections, releases) + ``inventory.stock.v1`` (levels)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import AgentT

from contracts import TOPIC_OF, Event, OrderCancelled, OrderCompleted, OrderPlaced, topics
from inventory.domain import Consumed, reactions, stale, stock_level, too_old
from inventory.settings import InventorySettings
from inventory.store import RedisStore, Store
from streaming import Disposition, EventGuard, FailureRoute, Publish, bind, publisher

log = logging.getLogger(__name__)

AGENT = "reserve_stock"


def route(app: faust.App, settings: InventorySettings) -> Publish:
    """A ``Publish`` that sends each event to its topic (``contracts.TOPIC_OF``), stock
    levels to ``settings.stock_topic``."""
    stock = dataclasses.replace(topics.STOCK, name=settings.stock_topic)
    by_topic = {
        topics.INVENTORY.name: publisher(bind(app, topics.INVENTORY)),
        topics.STOCK.name: publisher(bind(app, stock)),
    }

    async def publish(event: Event) -> None:
        await by_topic[TOPIC_OF[type(event)].name](event)

    return publish


def redis_store(app: faust.App, settings: InventorySettings) -> RedisStore:
    """The Redis store of the worker: scripts loaded once started, closed at shutdown."""
    store = RedisStore.from_url(
        settings.redis_url, prefix=settings.key_prefix, order_ttl=settings.order_ttl
    )

    async def prepare() -> None:
        try:
            await store.prepare()
        except Exception as exc:  # the scripts load on first use instead
            log.warning("inventory: could not load the scripts into Redis yet: %r", exc)
        else:
            log.info("inventory: scripts loaded; stock keys under %r", store.prefix)

    async def close(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        await store.close()

    app.task(prepare)
    app.on_before_shutdown.connect(close)
    return store


def install(
    app: faust.App,
    settings: InventorySettings,
    *,
    failures: FailureRoute | None,
    store: Store | None = None,
    publish: Publish | None = None,
) -> AgentT[bytes]:
    """Add the ``reserve_stock`` agent to ``app``.

    It consumes ``orders.v1`` and ``orders.outcome.v1`` (same key, same partition count):
    each order event is applied to the store in one atomic step, then the step's
    reactions go to ``inventory.v1`` and the new level of each product the order holds
    to ``inventory.stock.v1`` (``settings.stock_topic``). A redelivered event re-emits
    the identical events. A stale event (``domain.stale``) is ignored.
    ``store`` and ``publish`` replace Redis and the producers in tests.
    """
    source = bind(app, topics.ORDERS, topics.OUTCOMES)
    emit = route(app, settings) if publish is None else publish
    stock = redis_store(app, settings) if store is None else store

    async def on_order_event(event: Consumed) -> None:
        now = datetime.now(UTC)
        if too_old(event, now=now) and stale(await stock.order(event.order_id), event, now=now):
            return  # ignored as stale: see inventory.domain
        applied = await stock.apply(event)
        for reaction in reactions(applied.record, event):
            await emit(reaction)
        for level in applied.levels:
            await emit(
                stock_level(
                    level, correlation_id=event.correlation_id, causation_id=str(event.event_id)
                )
            )

    guard = EventGuard(
        AGENT,
        {
            OrderPlaced: on_order_event,
            OrderCancelled: on_order_event,
            OrderCompleted: on_order_event,
        },
        failures=failures,
    )

    async def reserve_stock(stream: faust.StreamT[bytes]) -> AsyncIterator[Disposition]:
        async for disposition in guard.process(stream):
            yield disposition

    return app.agent(source, name=AGENT)(reserve_stock)
