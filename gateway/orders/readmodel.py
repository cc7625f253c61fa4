"""The read model's fold: what an order looks like after a set of events.

The fold is a join on ranks, so the result depends only on *which* events were
seen, not on their order or on duplicates: Kafka delivers the topics of one order
independently and at least once, and the projector must converge anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from contracts import (
    AnyEvent,
    InventoryRejected,
    InventoryReleased,
    InventoryReserved,
    NotificationSent,
    OrderCancelled,
    OrderCompleted,
    PaymentAuthorized,
    PaymentDeclined,
    PaymentRefunded,
)

#: Later steps outrank earlier ones; a cancelled order is never resurrected.
STATUS_RANK = {"PENDING": 0, "COMPLETED": 1, "CANCELLED": 2}
PAYMENT_RANK = {"": 0, "AUTHORIZED": 1, "DECLINED": 1, "REFUNDED": 2}
INVENTORY_RANK = {"": 0, "RESERVED": 1, "REJECTED": 1, "RELEASED": 2}


@dataclass(frozen=True)
class OrderView:
    status: str = "PENDING"
    cancel_reason: str = ""
    payment_status: str = ""
    payment_detail: str = ""
    inventory_status: str = ""
    inventory_detail: str = ""
    notification_status: str = ""
    notification_detail: str = ""


def evolve(view: OrderView, event: AnyEvent) -> OrderView:
    """The view after ``event``; events that do not change an order leave it as is."""
    match event:
        case PaymentAuthorized():
            return _payment(view, "AUTHORIZED", f"charged {event.amount} {event.currency}")
        case PaymentDeclined():
            return _payment(view, "DECLINED", event.reason)
        case PaymentRefunded():
            return _payment(view, "REFUNDED", f"refunded {event.amount} {event.currency}")
        case InventoryReserved():
            return _inventory(view, "RESERVED", _units(event.items))
        case InventoryRejected():
            short = ", ".join(
                f"{s.product_id} ({s.available}/{s.requested})" for s in event.shortages
            )
            return _inventory(view, "REJECTED", f"short: {short}")
        case InventoryReleased():
            return _inventory(view, "RELEASED", _units(event.items))
        case OrderCompleted():
            return _status(view, "COMPLETED", "")
        case OrderCancelled():
            return _status(view, "CANCELLED", event.reason)
        case NotificationSent():
            if view.notification_status:
                return view
            detail = f"{event.channel}: {event.subject}"[:200]
            return replace(view, notification_status="SENT", notification_detail=detail)
    return view


def _units(items: tuple[object, ...]) -> str:
    return ", ".join(f"{i.product_id} x{i.quantity}" for i in items)  # type: ignore[attr-defined]


def _payment(view: OrderView, status: str, detail: str) -> OrderView:
    if PAYMENT_RANK[status] <= PAYMENT_RANK[view.payment_status]:
        return view
    return replace(view, payment_status=status, payment_detail=detail[:200])


def _inventory(view: OrderView, status: str, detail: str) -> OrderView:
    if INVENTORY_RANK[status] <= INVENTORY_RANK[view.inventory_status]:
        return view
    return replace(view, inventory_status=status, inventory_detail=detail[:200])


def _status(view: OrderView, status: str, reason: str) -> OrderView:
    if STATUS_RANK[status] <= STATUS_RANK[view.status]:
        return view
    return replace(view, status=status, cancel_reason=reason)
