"""Orders' side of the projector: fold order events into orders and their timelines, and
store failure notes in the timelines. Called by ``gateway.projector`` in its batch's
transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

import msgspec
from django.db import transaction
from django.utils import timezone

from contracts import AnyEvent, OrderPlaced
from gateway.consumed import Seen
from gateway.orders.domain import fingerprint, from_placed
from gateway.orders.models import Order, TimelineEntry
from gateway.orders.readmodel import OrderView, evolve

_VIEW_FIELDS = [f.name for f in fields(OrderView)]
_ENVELOPE = {"type", "event_id", "occurred_at", "correlation_id", "causation_id", "order_id"}


@dataclass(frozen=True)
class Note:
    """One timeline entry that is not an order event (a retry scheduled, a dead letter:
    built by ``gateway.projector.failure_notes``)."""

    event_id: uuid.UUID
    order_id: str
    event_type: str
    topic: str
    partition: int
    offset: int
    occurred_at: datetime
    data: dict[str, Any]


def project_orders(events: Sequence[Seen]) -> int:
    """Fold order events into orders and their timelines; return orders changed. Run in
    the projector's transaction for the batch.

    Idempotent: timeline rows are unique by ``event_id`` and the fold ignores
    events it has already absorbed, so a redelivered batch changes nothing.
    """
    if not events:
        return 0
    now = timezone.now()
    with transaction.atomic():
        ids = {s.event.order_id for s in events}  # type: ignore[union-attr]
        orders = Order.objects.in_bulk(list(ids))
        new: dict[str, Order] = {}
        changed: set[str] = set()
        for seen in events:
            event = seen.event
            order_id = event.order_id  # type: ignore[union-attr]
            order = orders.get(order_id) or new.get(order_id)
            if order is None:
                order = new[order_id] = _placeholder(order_id, event, now)
            elif isinstance(event, OrderPlaced) and not order.items:
                _fill_from_placed(order, event)
                changed.add(order_id)
            before = _view(order)
            after = evolve(before, event)
            if after != before:
                for name, value in asdict(after).items():
                    setattr(order, name, value)
                order.updated_at = now
                changed.add(order_id)
        if new:
            Order.objects.bulk_create(new.values(), ignore_conflicts=True)
        updates = [orders[i] for i in changed if i in orders]
        if updates:
            Order.objects.bulk_update(
                updates,
                [
                    *_VIEW_FIELDS,
                    "updated_at",
                    "user_id",
                    "amount",
                    "items",
                    "currency",
                    "request_hash",
                ],
            )
        TimelineEntry.objects.bulk_create([_entry(s, now) for s in events], ignore_conflicts=True)
    return len(changed) + len(new)


def project_notes(notes: list[Note]) -> None:
    """Store failure notes in their orders' timelines (idempotent: unique by id)."""
    if not notes:
        return
    now = timezone.now()
    TimelineEntry.objects.bulk_create(
        [
            TimelineEntry(
                event_id=n.event_id,
                order_id=n.order_id,
                event_type=n.event_type,
                topic=n.topic,
                partition=n.partition,
                offset=n.offset,
                occurred_at=n.occurred_at,
                recorded_at=now,
                causation_id="",
                data=n.data,
            )
            for n in notes
        ],
        ignore_conflicts=True,
    )


def _view(order: Order) -> OrderView:
    return OrderView(**{name: getattr(order, name) for name in _VIEW_FIELDS})


def _placeholder(order_id: str, event: AnyEvent, now: datetime) -> Order:
    """An order first seen through Kafka (a rebuilt read model, or a producer other than
    the gateway); ``OrderPlaced`` fills in what the other events do not carry."""
    order = Order(
        order_id=order_id,
        user_id=getattr(event, "user_id", ""),
        currency=getattr(event, "currency", "") or "",
        amount=getattr(event, "amount", 0),
        items=[],
        request_hash="",
        created_at=event.occurred_at,
        updated_at=now,
    )
    if isinstance(event, OrderPlaced):
        _fill_from_placed(order, event)
    return order


def _fill_from_placed(order: Order, event: OrderPlaced) -> None:
    order.request_hash = fingerprint(from_placed(event))
    order.user_id = event.user_id
    order.currency = event.currency
    order.amount = event.amount
    order.created_at = event.occurred_at
    order.items = [
        {"productId": x.product_id, "quantity": x.quantity, "price": str(x.unit_price)}
        for x in event.items
    ]


def _entry(seen: Seen, now: datetime) -> TimelineEntry:
    event = seen.event
    data = {k: v for k, v in msgspec.to_builtins(event).items() if k not in _ENVELOPE}
    return TimelineEntry(
        event_id=event.event_id,
        order_id=event.order_id,  # type: ignore[union-attr]
        event_type=event.wire_type(),
        topic=seen.topic,
        partition=seen.partition,
        offset=seen.offset,
        occurred_at=event.occurred_at,
        recorded_at=now,
        causation_id=event.causation_id or "",
        data=data,
    )
