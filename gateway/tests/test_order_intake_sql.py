"""The order and its outbox row in one statement (PostgreSQL): the row the ORM would
write, one round trip, nothing written for a repeat, and the relay's NOTIFY at commit.

On SQLite (the fast tier's database) the ORM path runs instead; these tests need the
real PostgreSQL (`sagactl stack -- pytest gateway/tests`) and skip elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import contracts
from contracts import OrderLine
from gateway.orders.domain import NewOrder, fingerprint
from gateway.orders.models import Order
from gateway.orders.services import IdempotencyConflict, order_create
from gateway.outbox.models import OutboxMessage
from gateway.outbox.services import OUTBOX_CHANNEL


@pytest.fixture(autouse=True)
def _postgresql_only(db: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement intake is PostgreSQL's (SQLite takes the ORM path)")


def new_order(order_id: str = "o-sql-1", user_id: str = "user-1") -> NewOrder:
    line = OrderLine(product_id="prod-001", quantity=2, unit_price=Decimal("49.995"))
    return NewOrder(order_id, user_id, "EUR", Decimal("99.99"), (line,))


def place(new: NewOrder, key: str | None = "key-sql-1") -> Any:
    return order_create(new=new, idempotency_key=key, request_hash=fingerprint(new))


def test_a_new_order_and_its_outbox_row_are_one_statement() -> None:
    with CaptureQueriesContext(connection) as queries:
        accepted = place(new_order())

    assert accepted.created
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert "pg_notify" in queries[0]["sql"]


def test_the_stored_order_is_the_row_the_orm_writes() -> None:
    accepted = place(new_order())

    stored = Order.objects.get(order_id="o-sql-1")
    assert stored.items == [{"productId": "prod-001", "quantity": 2, "price": "49.995"}]
    assert (stored.user_id, stored.currency, stored.amount) == ("user-1", "EUR", Decimal("99.99"))
    assert (stored.idempotency_key, stored.request_hash) == (
        "key-sql-1",
        accepted.order.request_hash,
    )
    assert (stored.status, stored.cancel_reason, stored.payment_status) == ("PENDING", "", "")
    assert stored.created_at == stored.updated_at == accepted.order.created_at
    [message] = OutboxMessage.objects.all()
    assert (message.topic, bytes(message.key), message.sent_at) == ("orders.v1", b"o-sql-1", None)
    assert message.headers == [["event_type", "order.placed.v1"]]
    assert message.created_at == stored.created_at
    event = contracts.decode_as(bytes(message.value), contracts.OrderPlaced)
    assert (event.order_id, event.amount, event.items) == (
        "o-sql-1",
        Decimal("99.99"),
        stored_lines(),
    )


def stored_lines() -> tuple[OrderLine, ...]:
    return (OrderLine(product_id="prod-001", quantity=2, unit_price=Decimal("49.995")),)


def test_a_repeat_writes_nothing_and_returns_the_stored_order() -> None:
    assert place(new_order()).created

    again = place(new_order())
    assert not again.created and again.order.order_id == "o-sql-1"
    with pytest.raises(IdempotencyConflict):
        place(new_order(order_id="o-sql-other"))  # the same key with another body
    assert Order.objects.count() == 1
    assert OutboxMessage.objects.count() == 1


@pytest.fixture
def listener() -> Iterator[psycopg.Connection[Any]]:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.Connection.connect(**params, autocommit=True) as conn:
        conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
        yield conn


def notifications(conn: psycopg.Connection[Any], timeout: float) -> int:
    return sum(1 for _ in conn.notifies(timeout=timeout, stop_after=10))


@pytest.mark.django_db(transaction=True)
def test_the_relay_is_woken_once_per_new_order_at_commit(
    listener: psycopg.Connection[Any],
) -> None:
    place(new_order())
    assert notifications(listener, timeout=2.0) == 1

    again = place(new_order())  # a repeat: no row, no event, no wake-up
    assert not again.created
    assert notifications(listener, timeout=0.5) == 0
    assert OutboxMessage.objects.count() == 1
    assert datetime.now(UTC) > Order.objects.get().created_at
