"""Fold ``StockLevel`` events into the catalog read model (called by the projector)."""

from __future__ import annotations

from django.db import transaction

from contracts import StockLevel
from gateway.catalog.models import Product

_FIELDS = ["name", "price", "available", "reserved", "sold", "updated_at"]


def project_stock(levels: list[StockLevel]) -> int:
    """Upsert the latest level of each product in one transaction; return rows written.

    "Latest" is the greatest ``occurred_at`` (the product's version; on a tie the later
    one in ``levels``). A level older than the stored row is skipped, so redelivered or
    reordered batches never move a product back in time; an equal one is written again
    (same version, same values). One read and one upsert statement per batch.
    """
    latest: dict[str, StockLevel] = {}
    for level in levels:
        seen = latest.get(level.product_id)
        if seen is None or level.occurred_at >= seen.occurred_at:
            latest[level.product_id] = level
    if not latest:
        return 0
    with transaction.atomic():
        stored = dict(
            Product.objects.select_for_update()
            .filter(product_id__in=list(latest))
            .values_list("product_id", "updated_at")
        )
        rows = [
            _row(level)
            for product_id, level in latest.items()
            if product_id not in stored or stored[product_id] <= level.occurred_at
        ]
        if rows:
            Product.objects.bulk_create(
                rows, update_conflicts=True, unique_fields=["product_id"], update_fields=_FIELDS
            )
    return len(rows)


def _row(level: StockLevel) -> Product:
    return Product(
        product_id=level.product_id,
        name=level.name,
        price=level.price,
        available=level.available,
        reserved=level.reserved,
        sold=level.sold,
        updated_at=level.occurred_at,
    )
