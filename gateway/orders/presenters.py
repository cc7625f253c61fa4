"""How orders and timelines look in API responses (camelCase, like the request body)."""

from __future__ import annotations

from typing import Any

from gateway.orders.models import Order, TimelineEntry


def order_summary(order: Order) -> dict[str, Any]:
    return {
        "orderId": order.order_id,
        "userId": order.user_id,
        "amount": f"{order.amount:.2f}",
        "currency": order.currency,
        "items": order.items,
        "status": order.status,
        "cancelReason": order.cancel_reason or None,
        "payment": {"status": order.payment_status or None, "detail": order.payment_detail},
        "inventory": {"status": order.inventory_status or None, "detail": order.inventory_detail},
        "notification": {
            "status": order.notification_status or None,
            "detail": order.notification_detail,
        },
        "createdAt": order.created_at.isoformat(),
        "updatedAt": order.updated_at.isoformat(),
    }


def timeline(entries: list[TimelineEntry]) -> list[dict[str, Any]]:
    """Each event with where it sat in Kafka and the latency of its hop.

    A hop's latency is the time from the event that caused it (``causation_id``) to
    this one; the first event has none.
    """
    by_id = {str(e.event_id): e for e in entries}
    out = []
    for e in entries:
        cause = by_id.get(e.causation_id)
        hop_ms = None
        if cause is not None:
            hop_ms = round((e.occurred_at - cause.occurred_at).total_seconds() * 1000, 1)
        out.append(
            {
                "eventId": str(e.event_id),
                "type": e.event_type,
                "topic": e.topic,
                "partition": e.partition,
                "offset": e.offset,
                "occurredAt": e.occurred_at.isoformat(),
                "recordedAt": e.recorded_at.isoformat(),
                "causationId": e.causation_id or None,
                "hopLatencyMs": hop_ms,
                "data": e.data,
            }
        )
    return out
