"""How orders and timelines look in API responses (camelCase, like the request body).

**Who sees what** (the customer-data policy; docs/api.md says the same). The platform
has no customer accounts: an order's ``userId`` is whatever the client sent, and the
order ids are pushed to every dashboard. So an order id is no secret, and two views
exist, chosen by the caller, never by the order:

- **staff** (a staff session, the dashboard's ``/login``): everything (``order_summary``,
  ``timeline``);
- **anyone else** (the public demo: anonymous REST calls and WebSockets): the same
  shapes with no personal fields (``public_summary``, ``public_timeline``): ``userId``
  becomes a pseudonym (``anon-`` + 10 hex digits, a keyed hash of the user id with
  ``SECRET_KEY``: stable, so one customer's orders still group together, and not
  reversible without the key), notification texts (``notification.detail``, the
  ``subject`` and ``body`` of ``NotificationSent``) are dropped, and every ``user_id``
  in a timeline event is the pseudonym. Amounts, currencies, items, statuses and
  reasons stay: they are a demo shop's catalogue prices and quantities, not a person.

``POST /api/orders`` answers with the full summary: the caller just sent those fields.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings

from gateway.orders.models import Order, TimelineEntry

#: What a pseudonymous ``userId`` starts with.
PSEUDONYM_PREFIX = "anon-"
#: Fields of a timeline event's data never shown to the public (notification texts).
PRIVATE_DATA = frozenset({"subject", "body"})


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


def pseudonym(user_id: str) -> str:
    """The public stand-in of ``user_id``: ``anon-`` + a keyed hash (``SECRET_KEY``)."""
    key = hashlib.sha256(str(settings.SECRET_KEY).encode()).digest()
    digest = hashlib.blake2b(user_id.encode(), key=key, digest_size=5, person=b"userId")
    return PSEUDONYM_PREFIX + digest.hexdigest()


def public_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """An ``order_summary`` without personal fields (the module docstring's policy)."""
    out = dict(summary)
    if isinstance(out.get("userId"), str):
        out["userId"] = pseudonym(out["userId"])
    if isinstance(out.get("notification"), dict):
        out["notification"] = {**out["notification"], "detail": None}
    if isinstance(out.get("timeline"), list):
        out["timeline"] = public_timeline(out["timeline"])
    return out


def public_timeline(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A ``timeline`` whose events carry pseudonyms and no notification texts."""
    out = []
    for entry in entries:
        data = entry.get("data")
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if k not in PRIVATE_DATA}
            if isinstance(data.get("user_id"), str):
                data["user_id"] = pseudonym(data["user_id"])
            entry = {**entry, "data": data}
        out.append(entry)
    return out


def sees_customer_data(request: Any) -> bool:
    """Whether the caller of ``request`` is staff (``request.user``, set by the view's
    authentication: ``apis.SessionReader``)."""
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_staff)


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
