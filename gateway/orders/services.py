"""Writes of the orders app: accept an order and its outbox event in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from contracts import topics
from gateway import batch_sql
from gateway.errors import Problem
from gateway.orders.domain import NewOrder, order_placed
from gateway.orders.models import Order
from gateway.outbox.services import outbox_add, outbox_add_after

__all__ = ["Accepted", "IdempotencyConflict", "order_create"]


class IdempotencyConflict(Problem):
    """The idempotency key or order id was already used for a different request (422)."""

    status_code = 422
    kind = "idempotency_conflict"

    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{field} {value!r} was already used with a different request body", field)


@dataclass(frozen=True)
class Accepted:
    order: Order
    created: bool


def order_create(*, new: NewOrder, idempotency_key: str | None, request_hash: str) -> Accepted:
    """Store ``new`` as PENDING plus its ``OrderPlaced`` outbox row, atomically.

    A repeated request (same idempotency key, or same order id) with the same body
    returns the existing order; with a different body it raises ``IdempotencyConflict``.

    The insert comes first and the unique constraints decide: a new order (the common
    case) costs no lookup round trip; a repeat inserts nothing and is looked up then. On
    PostgreSQL the order, its outbox row and the relay's wake-up are one statement
    (`gateway.outbox.services.outbox_add_after`): one round trip instead of seven.
    """
    now = timezone.now()
    event = order_placed(new, at=now)
    order = Order(
        order_id=new.order_id,
        user_id=new.user_id,
        currency=new.currency,
        amount=new.amount,
        items=[
            {"productId": x.product_id, "quantity": x.quantity, "price": str(x.unit_price)}
            for x in new.lines
        ],
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        created_at=now,
        updated_at=now,
    )
    if connection.vendor == "postgresql":
        row = [getattr(order, c) for c in _ORDER.columns]
        ((sql, params),) = batch_sql.insert(_ORDER, [row])  # ON CONFLICT DO NOTHING
        created = outbox_add_after(
            f"{sql} RETURNING 1", params, event, topic=topics.ORDERS.name, at=now
        )
    else:
        try:
            with transaction.atomic():
                order.save(force_insert=True)
                outbox_add(event, topic=topics.ORDERS.name, at=now)
            created = True
        except IntegrityError:
            created = False
    if created:
        order._state.adding = False
        return Accepted(order, created=True)
    # A repeat, or a concurrent request with the same id or key won the race.
    existing = _existing(new.order_id, idempotency_key, request_hash)
    if existing is None:
        raise IntegrityError(f"order {new.order_id!r} conflicts with a row no longer there")
    return Accepted(existing, created=False)


#: Every column of an order row, as the ORM would write it.
_ORDER = batch_sql.Table(Order, tuple(f.name for f in Order._meta.concrete_fields))


def _existing(order_id: str, idempotency_key: str | None, request_hash: str) -> Order | None:
    if idempotency_key:
        by_key = Order.objects.filter(idempotency_key=idempotency_key).first()
        if by_key is not None:
            if by_key.request_hash != request_hash:
                raise IdempotencyConflict("Idempotency-Key", idempotency_key)
            return by_key
    by_id = Order.objects.filter(order_id=order_id).first()
    if by_id is not None and by_id.request_hash != request_hash:
        raise IdempotencyConflict("orderId", order_id)
    return by_id
