"""Fold ``TopProductsUpdated`` snapshots into the analytics read model (called by the projector)."""

from __future__ import annotations

from datetime import datetime, timedelta

from contracts import ProductStat, TopProductsUpdated
from gateway import batch_sql as sql
from gateway.analytics.models import WindowSnapshot

#: Windows ending longer than this before the newest one are deleted.
KEEP = timedelta(days=1)
_FIELDS = ("window_end", "published_at", "event_id", "demand", "sales", "pageviews", "late_events")
_TABLE = sql.Table(WindowSnapshot, ("kind", "window_start", *_FIELDS))


def project_snapshots(snapshots: list[TopProductsUpdated]) -> int:
    """Upsert the latest snapshot of each window in one transaction; return rows written.

    "Latest" is the greatest ``occurred_at`` (on a tie the later one in ``snapshots``);
    an older snapshot than the stored one is skipped, so redelivered or reordered batches
    never move a window back (one upsert statement). Windows ending more than ``KEEP``
    before the newest window of their kind are deleted.
    """
    latest: dict[tuple[str, datetime], TopProductsUpdated] = {}
    for snap in snapshots:
        key = (snap.window_kind, snap.window_start)
        seen = latest.get(key)
        if seen is None or snap.occurred_at >= seen.occurred_at:
            latest[key] = snap
    if not latest:
        return 0
    rows = [_row(snap) for snap in latest.values()]
    written = sql.execute(
        sql.insert(
            _TABLE,
            rows,
            conflict=["kind", "window_start"],
            update=_FIELDS,
            newer="published_at",
        )
    )
    for kind in {snap.window_kind for snap in latest.values()}:
        newest = max(s.window_end for s in latest.values() if s.window_kind == kind)
        WindowSnapshot.objects.filter(kind=kind, window_end__lt=newest - KEEP).delete()
    return written


def _row(snap: TopProductsUpdated) -> tuple[object, ...]:
    return (
        snap.window_kind,
        snap.window_start,
        snap.window_end,
        snap.occurred_at,
        snap.event_id,
        [_product(s) for s in snap.demand],
        [_product(s) for s in snap.sales],
        [{"page": p.page, "views": p.views} for p in snap.pageviews],
        snap.late_events,
    )


def _product(stat: ProductStat) -> dict[str, object]:
    return {"productId": stat.product_id, "units": stat.units, "revenue": str(stat.revenue)}
