"""What the dashboard pushes after each projected batch: pure, so it is tested alone.

A change message carries a version and the full new state of every order and product
the batch touched (applying it twice changes nothing), plus which analytics windows
got a new snapshot. A batch too large to push row by row tells browsers to resync.

Each change goes out twice, with the same version: in full to ``STAFF_GROUP`` (staff
sessions) and without personal fields to ``PUBLIC_GROUP`` (everyone else; the policy
of ``gateway.orders.presenters``). What everyone gets alike (the monitor's status)
goes to ``GROUP``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: More changed orders than this in one batch: push a resync instead of the rows.
MAX_ORDERS = 200

#: Every dashboard WebSocket: messages without customer data (the monitor's status).
GROUP = "dashboard"
#: Sockets of staff sessions: changes with every field.
STAFF_GROUP = "dashboard.staff"
#: Every other socket: changes without personal fields.
PUBLIC_GROUP = "dashboard.public"


def change_message(
    version: int,
    *,
    orders: list[dict[str, Any]],
    products: list[dict[str, Any]],
    windows: list[str],
) -> dict[str, Any]:
    """The message browsers receive for one batch (``type`` ``changes``)."""
    if len(orders) > MAX_ORDERS:
        return {"type": "changes", "version": version, "resync": True}
    return {
        "type": "changes",
        "version": version,
        "orders": orders,
        "products": products,
        "topProducts": sorted(set(windows)),
    }


def public_change(
    message: dict[str, Any], mask: Callable[[dict[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    """``message`` with each order passed through ``mask`` (``presenters.public_summary``)."""
    if "orders" not in message:
        return message
    return {**message, "orders": [mask(o) for o in message["orders"]]}


def touched(batch: list[Any]) -> tuple[list[str], list[str], list[str]]:
    """Order ids, product ids and window kinds an event batch changed, first seen first."""
    orders: dict[str, None] = {}
    products: dict[str, None] = {}
    windows: dict[str, None] = {}
    for event in batch:
        order_id = getattr(event, "order_id", None)
        if order_id:
            orders[order_id] = None
        product_id = getattr(event, "product_id", None)
        if product_id and order_id is None:
            products[product_id] = None
        kind = getattr(event, "window_kind", None)
        if kind:
            windows[str(kind)] = None
    return list(orders), list(products), list(windows)
