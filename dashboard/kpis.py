"""The first screen's figures that only the read model knows, read by the monitor every
poll: orders by status and cancel reason, the pending dead letters, accept→outcome
latency percentiles of the orders decided in the last minute, and the p50 of each hop of
the choreography for the same orders (``hop_latencies``, from the timeline's event times).
Rates (orders/s) are the browser's: the difference of two of these totals over the time
between them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

#: The window of the latency percentiles.
LATENCY_WINDOW = timedelta(minutes=1)


def percentile(sorted_values: list[float], q: float) -> float | None:
    """The nearest-rank percentile ``q`` (0–100) of ascending values; None if empty."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * q // 100))  # ceil(n * q / 100)
    return sorted_values[int(rank) - 1]


#: The hops of the map's edges, in the order of a saga: order accepted → payment decided,
#: accepted → inventory answered, the later answer → the saga's outcome, outcome → notice.
HOPS = ("payment", "inventory", "saga", "notice")
#: The timeline's event types that end each stage.
PLACED = ("order.placed.v1",)
PAYMENT = ("payment.authorized.v1", "payment.declined.v1")
INVENTORY = ("inventory.reserved.v1", "inventory.rejected.v1")
OUTCOME = ("order.completed.v1", "order.cancelled.v1")
NOTICE = ("notification.sent.v1",)

#: One order's stage times: accepted, payment decided, inventory answered, outcome,
#: notice (None where the timeline has no such event yet).
Stages = tuple[datetime | None, datetime | None, datetime | None, datetime | None, datetime | None]


def _ms(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds() * 1000)


def hop_latencies(orders: Iterable[Stages]) -> dict[str, int | None]:
    """The p50 (ms) of each hop (``HOPS``) over ``orders``; None for a hop no order made.

    The saga's hop starts at the later of the two answers that came before the outcome
    (a declined payment can end a saga before inventory answers); a hop that would be
    negative (events of one order stamped by different processes) counts as 0."""
    hops: dict[str, list[float]] = {h: [] for h in HOPS}
    for accepted, payment, inventory, outcome, notice in orders:
        ends = {
            "payment": _ms(accepted, payment),
            "inventory": _ms(accepted, inventory),
            "notice": _ms(outcome, notice),
        }
        answers = [t for t in (payment, inventory) if t is not None]
        if outcome is not None and answers:
            before = [t for t in answers if t <= outcome]
            ends["saga"] = _ms(max(before) if before else min(answers), outcome)
        for hop, value in ends.items():
            if value is not None:
                hops[hop].append(value)
    out: dict[str, int | None] = {}
    for hop in HOPS:
        p50 = percentile(sorted(hops[hop]), 50)
        out[hop] = None if p50 is None else round(p50)
    return out


def _stages(decided_ids: Any) -> list[Stages]:
    """One query: each decided order's stage times from its timeline rows (``occurred_at``,
    the time the producing service stamped on the event), grouped in the database."""
    from django.db.models import Min, Q

    from gateway.orders.models import TimelineEntry

    def first(types: tuple[str, ...]) -> Min:
        return Min("occurred_at", filter=Q(event_type__in=types))

    rows = (
        TimelineEntry.objects.filter(order_id__in=decided_ids)
        .values("order_id")
        .annotate(
            a=first(PLACED), p=first(PAYMENT), i=first(INVENTORY), o=first(OUTCOME), n=first(NOTICE)
        )
        .values_list("a", "p", "i", "o", "n")
    )
    return list(rows)


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
    decided_ids = Order.objects.filter(
        updated_at__gte=now - LATENCY_WINDOW, status__in=("COMPLETED", "CANCELLED")
    ).values("order_id")[:20000]
    hops = hop_latencies(_stages(decided_ids))
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
        # p50 ms of each hop (HOPS) of the orders decided in the last minute.
        "hopsP50Ms": hops,
    }
