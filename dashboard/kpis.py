"""The first screen's figures that only the read model knows, read by the monitor every
poll: orders by status and cancel reason, the pending dead letters, and accept→outcome
latency percentiles of the orders decided in the last minute. Rates (orders/s) are the
browser's: the difference of two of these totals over the time between them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

#: The window of the latency percentiles.
LATENCY_WINDOW = timedelta(minutes=1)


def percentile(sorted_values: list[float], q: float) -> float | None:
    """The nearest-rank percentile ``q`` (0–100) of ascending values; None if empty."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * q // 100))  # ceil(n * q / 100)
    return sorted_values[int(rank) - 1]


def read_kpis() -> dict[str, Any]:
    """One reading (a database query set; raises when the database is down)."""
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from gateway.operations.models import DeadLetterRecord
    from gateway.orders.models import Order

    now = timezone.now()
    totals: dict[str, int] = {"PENDING": 0, "COMPLETED": 0, "CANCELLED": 0}
    reasons: dict[str, int] = {}
    rows = Order.objects.values("status", "cancel_reason").annotate(n=Count("order_id"))
    for row in rows:
        totals[row["status"]] = totals.get(row["status"], 0) + row["n"]
        if row["status"] == "CANCELLED":
            reason = row["cancel_reason"] or "unknown"
            reasons[reason] = reasons.get(reason, 0) + row["n"]
    decided = Order.objects.filter(
        updated_at__gte=now - LATENCY_WINDOW, status__in=("COMPLETED", "CANCELLED")
    ).values_list("created_at", "updated_at")
    latencies = sorted((u - c).total_seconds() * 1000 for c, u in decided[:20000])
    dlq = DeadLetterRecord.objects.filter(status="pending").count()
    connection.close()  # a long-running loop: do not hold a connection between polls
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    return {
        "accepted": sum(totals.values()),
        "inFlight": totals["PENDING"],
        "completed": totals["COMPLETED"],
        "cancelled": totals["CANCELLED"],
        "cancelledBy": dict(sorted(reasons.items())),
        "decidedLastMinute": len(latencies),
        "p50Ms": None if p50 is None else round(p50),
        "p99Ms": None if p99 is None else round(p99),
        "dlqPending": dlq,
    }
