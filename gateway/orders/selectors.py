"""Reads of the orders app: one order with its timeline, and paged lists."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from gateway.orders.models import Order, TimelineEntry


@dataclass(frozen=True)
class OrderWithTimeline:
    order: Order
    timeline: list[TimelineEntry]


def order_get(*, order_id: str) -> OrderWithTimeline | None:
    """The order and every event seen for it, oldest first; ``None`` if unknown."""
    order = Order.objects.filter(order_id=order_id).first()
    if order is None:
        return None
    # Ties in time (a late authorization and its refund share one) in log order: the same
    # order after a replay rebuilt the table, whatever order the rows were inserted in.
    timeline = list(
        TimelineEntry.objects.filter(order_id=order_id).order_by(
            "occurred_at", "topic", "partition", "offset"
        )
    )
    return OrderWithTimeline(order, timeline)


def order_list(*, status: str | None = None) -> QuerySet[Order]:
    """Orders, newest first, optionally only those with ``status``."""
    orders = Order.objects.order_by("-created_at", "order_id")
    if status:
        orders = orders.filter(status=status)
    return orders
