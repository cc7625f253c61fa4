"""What one projected batch turns into for browsers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from contracts import OrderCompleted, PaymentAuthorized
from gateway.projector.changes import MAX_ORDERS, change_message, touched

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MONEY = {"user_id": "u1", "amount": Decimal("1.00"), "currency": "USD"}


def test_touched_lists_each_order_once_in_first_seen_order() -> None:
    events = [
        OrderCompleted(occurred_at=T0, correlation_id="c", order_id="b", **MONEY),
        PaymentAuthorized(occurred_at=T0, correlation_id="c", order_id="a", **MONEY),
        OrderCompleted(occurred_at=T0, correlation_id="c", order_id="b", **MONEY),
    ]
    assert touched(events) == (["b", "a"], [], [])


def test_the_message_carries_rows_and_windows() -> None:
    message = change_message(
        7, orders=[{"orderId": "a"}], products=[], windows=["tumbling_1m", "tumbling_1m"]
    )
    assert message == {
        "type": "changes",
        "version": 7,
        "orders": [{"orderId": "a"}],
        "products": [],
        "topProducts": ["tumbling_1m"],
    }


def test_a_batch_too_big_to_push_asks_for_a_resync() -> None:
    orders = [{"orderId": str(i)} for i in range(MAX_ORDERS + 1)]
    assert change_message(3, orders=orders, products=[], windows=[]) == {
        "type": "changes",
        "version": 3,
        "resync": True,
    }
