"""Orders' side of the projector: fold order events into orders and their timelines, and
store failure notes in the timelines. Called by ``gateway.projector`` in its batch's
transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import msgspec
from django.utils import timezone

from contracts import AnyEvent, OrderPlaced
from gateway import batch_sql as sql
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

    Set-based: one read of the batch's orders, then at most one statement per kind of
    write (new orders, changed orders, orders filled in by their ``OrderPlaced``, timeline
    entries), whatever the batch's size.

    Idempotent: timeline rows are unique by ``event_id`` and the fold ignores
    events it has already absorbed, so a redelivered batch changes nothing.
    """
    if not events:
        return 0
    now = timezone.now()
    ids = list(dict.fromkeys(s.event.order_id for s in events))  # type: ignore[union-attr]
    stored = {
        row[0]: _Stored(OrderView(*row[1:-2]), not row[-2], row[-1])
        for row in Order.objects.filter(order_id__in=ids).values_list(
            "order_id", *_VIEW_FIELDS, "items", "updated_at"
        )
    }
    new: dict[str, _New] = {}
    changed: set[str] = set()
    filled: dict[str, OrderPlaced] = {}
    for seen in events:
        event = seen.event
        order_id = event.order_id  # type: ignore[union-attr]
        order: _Stored | _New | None = stored.get(order_id) or new.get(order_id)
        if order is None:
            order = new[order_id] = _New.placeholder(event, now)
        elif isinstance(event, OrderPlaced) and order.empty:
            order.fill(event)
            if isinstance(order, _Stored):
                filled[order_id] = event
            changed.add(order_id)
        after = evolve(order.view, event)
        if after != order.view:
            order.view = after
            order.updated_at = now
            changed.add(order_id)
    statements = sql.insert(_NEW, [n.row(i) for i, n in new.items()], conflict=["order_id"])
    updates = [i for i in changed if i in stored]
    statements += sql.update(
        _CHANGED, "order_id", [stored[i].row(i) for i in updates if i not in filled]
    )
    statements += sql.update(
        _FILLED, "order_id", [stored[i].row(i) + _filling(filled[i]) for i in filled]
    )
    statements += sql.insert(_TIMELINE, [_entry(s, now) for s in events], conflict=["event_id"])
    sql.execute(s for s in statements if s[1])
    return len(changed) + len(new)


def project_notes(notes: Sequence[Note]) -> None:
    """Store failure notes in their orders' timelines (idempotent: unique by id)."""
    if not notes:
        return
    now = timezone.now()
    rows = [
        (
            n.event_id,
            n.order_id,
            n.event_type,
            n.topic,
            n.partition,
            n.offset,
            n.occurred_at,
            now,
            "",
            n.data,
        )
        for n in notes
    ]
    sql.execute(sql.insert(_TIMELINE, rows, conflict=["event_id"]))


class _Stored:
    """An order already in the table: what the fold needs of it."""

    __slots__ = ("empty", "updated_at", "view")

    def __init__(self, view: OrderView, empty: bool, updated_at: datetime) -> None:
        self.view = view
        self.empty = empty
        self.updated_at = updated_at

    def fill(self, event: OrderPlaced) -> None:
        self.empty = False

    def row(self, order_id: str) -> tuple[Any, ...]:
        return (order_id, *_view_values(self.view), self.updated_at)


class _New:
    """An order first seen through Kafka (a rebuilt read model, or a producer other than
    the gateway); ``OrderPlaced`` fills in what the other events do not carry."""

    __slots__ = (
        "amount",
        "created_at",
        "currency",
        "empty",
        "items",
        "request_hash",
        "updated_at",
        "user_id",
        "view",
    )

    def __init__(self, event: AnyEvent, now: datetime) -> None:
        self.view = OrderView()
        self.user_id = getattr(event, "user_id", "")
        self.currency = getattr(event, "currency", "") or ""
        self.amount = getattr(event, "amount", 0)
        self.items: list[dict[str, Any]] = []
        self.request_hash = ""
        self.created_at = event.occurred_at
        self.updated_at = now
        self.empty = True

    @classmethod
    def placeholder(cls, event: AnyEvent, now: datetime) -> _New:
        order = cls(event, now)
        if isinstance(event, OrderPlaced):
            order.fill(event)
        return order

    def fill(self, event: OrderPlaced) -> None:
        (self.user_id, self.currency, self.amount, self.items, self.request_hash) = _filling(event)
        self.created_at = event.occurred_at
        self.empty = False

    def row(self, order_id: str) -> tuple[Any, ...]:
        return (
            order_id,
            self.user_id,
            self.currency,
            self.amount,
            self.items,
            None,
            self.request_hash,
            self.created_at,
            *_view_values(self.view),
            self.updated_at,
        )


def _view_values(view: OrderView) -> tuple[Any, ...]:
    return tuple(getattr(view, name) for name in _VIEW_FIELDS)


def _filling(event: OrderPlaced) -> tuple[Any, ...]:
    """What ``OrderPlaced`` tells of an order that no other event carries (``_FILL``)."""
    items = [
        {"productId": x.product_id, "quantity": x.quantity, "price": str(x.unit_price)}
        for x in event.items
    ]
    return (
        event.user_id,
        event.currency,
        event.amount,
        items,
        fingerprint(from_placed(event)),
    )


_FILL = ("user_id", "currency", "amount", "items", "request_hash")
_NEW = sql.Table(
    Order,
    (
        "order_id",
        "user_id",
        "currency",
        "amount",
        "items",
        "idempotency_key",
        "request_hash",
        "created_at",
        *_VIEW_FIELDS,
        "updated_at",
    ),
)
#: A stored order whose view changed; one filled in by its ``OrderPlaced`` as well (its
#: ``created_at`` stays the one stored).
_CHANGED = sql.Table(Order, ("order_id", *_VIEW_FIELDS, "updated_at"))
_FILLED = sql.Table(Order, ("order_id", *_VIEW_FIELDS, "updated_at", *_FILL))
_TIMELINE = sql.Table(
    TimelineEntry,
    (
        "event_id",
        "order_id",
        "event_type",
        "topic",
        "partition",
        "offset",
        "occurred_at",
        "recorded_at",
        "causation_id",
        "data",
    ),
)


def _entry(seen: Seen, now: datetime) -> tuple[Any, ...]:
    event = seen.event
    data = {k: v for k, v in msgspec.to_builtins(event).items() if k not in _ENVELOPE}
    return (
        event.event_id,
        event.order_id,  # type: ignore[union-attr]
        event.wire_type(),
        seen.topic,
        seen.partition,
        seen.offset,
        event.occurred_at,
        now,
        event.causation_id or "",
        data,
    )
