"""Fold ``StockLevel`` events into the catalog read model (called by the projector)."""

from __future__ import annotations

from contracts import StockLevel
from gateway import batch_sql as sql
from gateway.catalog.models import Product

_FIELDS = ("name", "price", "available", "reserved", "sold", "updated_at")
_TABLE = sql.Table(Product, ("product_id", *_FIELDS))


def project_stock(levels: list[StockLevel]) -> int:
    """Upsert the latest level of each product in one transaction; return rows written.

    "Latest" is the greatest ``occurred_at`` (the product's version; on a tie the later
    one in ``levels``). A level older than the stored row is skipped, so redelivered or
    reordered batches never move a product back in time; an equal one is written again
    (same version, same values). One upsert statement per batch (``ON CONFLICT … DO
    UPDATE … WHERE`` the stored version is not newer).
    """
    latest: dict[str, StockLevel] = {}
    for level in levels:
        seen = latest.get(level.product_id)
        if seen is None or level.occurred_at >= seen.occurred_at:
            latest[level.product_id] = level
    if not latest:
        return 0
    rows = [_row(level) for level in latest.values()]
    return sql.execute(
        sql.insert(_TABLE, rows, conflict=["product_id"], update=_FIELDS, newer="updated_at")
    )


def _row(level: StockLevel) -> tuple[object, ...]:
    return (
        level.product_id,
        level.name,
        level.price,
        level.available,
        level.reserved,
        level.sold,
        level.occurred_at,
    )
