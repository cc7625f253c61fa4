"""Wipe the read model so the projector can rebuild it from the topics (`sagactl replay
--rebuild-read-model`, `sagactl reset`)."""

from __future__ import annotations

from dataclasses import fields

from django.db import transaction
from django.utils import timezone

from gateway.analytics.models import WindowSnapshot
from gateway.catalog.models import Product
from gateway.orders.models import Order, TimelineEntry
from gateway.orders.readmodel import OrderView


def read_model_wipe() -> dict[str, int]:
    """Forget everything the projector folded in, in one transaction; return row counts.

    Orders are the gateway's write side too (the accepted request, its idempotency key),
    so they stay, with their projected fields back at the ``OrderView`` defaults
    (``PENDING``, nothing known). Timelines, the catalog and the analytics windows are
    projections only: deleted. Dead letters stay: operators' redrive and discard
    decisions and the audit log are not in any topic.
    """
    defaults = {f.name: f.default for f in fields(OrderView)}
    with transaction.atomic():
        orders = Order.objects.update(**defaults, updated_at=timezone.now())
        timeline, _ = TimelineEntry.objects.all().delete()
        products, _ = Product.objects.all().delete()
        windows, _ = WindowSnapshot.objects.all().delete()
    return {"orders": orders, "timeline": timeline, "products": products, "windows": windows}
