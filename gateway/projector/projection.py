"""The projector's dispatch: fold one batch of events into the apps' read models, in one
transaction. Each app folds into its own tables (its ``projection.py``)."""

from __future__ import annotations

from django.db import transaction

from contracts import OrderEvent, StockLevel, TopProductsUpdated
from gateway.analytics.projection import project_snapshots
from gateway.catalog.projection import project_stock
from gateway.consumed import Seen
from gateway.orders.projection import project_orders


def project_batch(batch: list[Seen]) -> int:
    """Fold ``batch`` into the read model in one transaction; return orders changed.

    Order events go to orders and their timelines; ``StockLevel`` events to the catalog,
    ``TopProductsUpdated`` snapshots to the analytics read model.

    Idempotent: timeline rows are unique by ``event_id`` and the fold ignores
    events it has already absorbed, so a redelivered batch changes nothing.
    """
    events = [s for s in batch if isinstance(s.event, OrderEvent)]
    levels = [s.event for s in batch if isinstance(s.event, StockLevel)]
    snapshots = [s.event for s in batch if isinstance(s.event, TopProductsUpdated)]
    with transaction.atomic():
        if levels:
            project_stock(levels)
        if snapshots:
            project_snapshots(snapshots)
        return project_orders(events)
