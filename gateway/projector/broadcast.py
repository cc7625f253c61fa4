"""The projector's side of the dashboard: after each committed batch, push what changed
to every browser through the channel layer: in full to staff (``STAFF_GROUP``), without
personal fields to everyone else (``PUBLIC_GROUP``), one version for both. The dashboard
only receives: it subscribes its WebSockets to a group and reads the current version."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from gateway.catalog.apis import ProductListApi
from gateway.catalog.models import Product
from gateway.errors import unavailable_dependency
from gateway.orders import presenters
from gateway.orders.models import Order
from gateway.projector.changes import (
    MAX_ORDERS,
    PUBLIC_GROUP,
    STAFF_GROUP,
    change_message,
    public_change,
    touched,
)
from gateway.projector.versions import Versions, versions_from_settings

log = logging.getLogger("dashboard.publisher")


def _rows(order_ids: list[str], product_ids: list[str]) -> tuple[list[Any], list[Any]]:
    orders = []
    if len(order_ids) <= MAX_ORDERS:
        found = Order.objects.in_bulk(order_ids)
        orders = [presenters.order_summary(found[i]) for i in order_ids if i in found]
    else:
        orders = [{"orderId": i} for i in order_ids]  # only counted: a resync follows
    products = Product.objects.filter(product_id__in=product_ids).order_by("product_id")
    out = ProductListApi.OutputSerializer(products, many=True).data
    return orders, list(out)


class Broadcaster:
    """Pushes one change message per batch; a failure is logged, never stops the projector
    (browsers that miss a version resync)."""

    def __init__(self, versions: Versions | None = None) -> None:
        self.versions = versions or versions_from_settings()
        self.layer = get_channel_layer()

    async def publish(self, events: list[Any]) -> dict[str, Any] | None:
        order_ids, product_ids, windows = touched(events)
        if not (order_ids or product_ids or windows) or self.layer is None:
            return None
        try:
            orders, products = await sync_to_async(_rows)(order_ids, product_ids)
            version = await self.versions.next()
            message = change_message(version, orders=orders, products=products, windows=windows)
            public = public_change(message, presenters.public_summary)
            await self.layer.group_send(STAFF_GROUP, {"type": "dashboard.push", "message": message})
            await self.layer.group_send(PUBLIC_GROUP, {"type": "dashboard.push", "message": public})
            return message
        except Exception as exc:
            if (dependency := unavailable_dependency(exc)) is None:
                log.exception("dashboard: could not publish a change; browsers will resync")
            else:  # restarting or down: expected and passing, one line (no traceback)
                log.warning(
                    "dashboard: %s unavailable, a change was not published (%s: %s);"
                    " browsers will resync",
                    dependency,
                    type(exc).__name__,
                    " ".join(str(exc).split())[:200],
                )
            return None
