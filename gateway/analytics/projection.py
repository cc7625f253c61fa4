"""Fold ``TopProductsUpdated`` snapshots into the analytics read model (called by the projector)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from contracts import ProductStat, TopProductsUpdated
from gateway.analytics.models import WindowSnapshot

#: Windows ending longer than this before the newest one are deleted.
KEEP = timedelta(days=1)
_FIELDS = ["window_end", "published_at", "event_id", "demand", "sales", "pageviews", "late_events"]


def project_snapshots(snapshots: list[TopProductsUpdated]) -> int:
    """Upsert the latest snapshot of each window in one transaction; return rows written.

    "Latest" is the greatest ``occurred_at`` (on a tie the later one in ``snapshots``);
    an older snapshot than the stored one is skipped, so redelivered or reordered batches
    never move a window back. Windows ending more than ``KEEP`` before the newest
    window of their kind are deleted.
    """
    latest: dict[tuple[str, datetime], TopProductsUpdated] = {}
    for snap in snapshots:
        key = (snap.window_kind, snap.window_start)
        seen = latest.get(key)
        if seen is None or snap.occurred_at >= seen.occurred_at:
            latest[key] = snap
    if not latest:
        return 0
    with transaction.atomic():
        stored = {
            (kind, start): published
            for kind, start, published in WindowSnapshot.objects.select_for_update()
            .filter(window_start__in={start for _, start in latest})
            .values_list("kind", "window_start", "published_at")
        }
        rows = [
            _row(snap)
            for key, snap in latest.items()
            if key not in stored or stored[key] <= snap.occurred_at
        ]
        if rows:
            WindowSnapshot.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["kind", "window_start"],
                update_fields=_FIELDS,
            )
        for kind in {snap.window_kind for snap in latest.values()}:
            newest = max(s.window_end for s in latest.values() if s.window_kind == kind)
            WindowSnapshot.objects.filter(kind=kind, window_end__lt=newest - KEEP).delete()
    return len(rows)


def _row(snap: TopProductsUpdated) -> WindowSnapshot:
    return WindowSnapshot(
        kind=snap.window_kind,
        window_start=snap.window_start,
        window_end=snap.window_end,
        published_at=snap.occurred_at,
        event_id=snap.event_id,
        demand=[_product(s) for s in snap.demand],
        sales=[_product(s) for s in snap.sales],
        pageviews=[{"page": p.page, "views": p.views} for p in snap.pageviews],
        late_events=snap.late_events,
    )


def _product(stat: ProductStat) -> dict[str, object]:
    return {"productId": stat.product_id, "units": stat.units, "revenue": str(stat.revenue)}
