"""`sagactl load` pieces without a platform: percentiles, outcome names, the summary."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

from contracts import decode, encode
from sagactl.commands.load import render
from sagactl.load import CUSTOMERS, LoadResult, order_body, order_placed, percentiles


def test_percentiles_by_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentiles(values) == {"p50": 50, "p90": 90, "p95": 95, "p99": 99, "max": 100}
    assert percentiles([7.0]) == {"p50": 7, "p90": 7, "p95": 7, "p99": 7, "max": 7}
    assert percentiles([]) == {}


def test_orders_are_valid_requests_for_demo_customers() -> None:
    products = [{"productId": "prod-001", "price": "49.995", "available": 3}]
    body = order_body(4, "abc", products, random.Random(1))
    assert body["orderId"] == "load-abc-4" and body["userId"] in CUSTOMERS
    assert body["items"] == [{"productId": "prod-001", "quantity": 1, "price": "49.995"}]


def test_summary_and_its_text() -> None:
    result = LoadResult(sent=3, accepted=3, statuses=Counter({"202": 3}))
    result.outcomes.update({"COMPLETED": 2, "CANCELLED:out_of_stock": 1})
    result.latencies_ms += [10.0, 20.0, 30.0]
    result.send_seconds, result.saga_seconds = 1.5, 2.0
    s = result.summary()
    assert (s["acceptRate"], s["throughput"], s["missing"]) == (2.0, 1.5, 0)
    text = render(s)
    assert "CANCELLED:out_of_stock 1, COMPLETED 2" in text
    assert "p50 20.0  p90 30.0" in text and "1.5 orders/s" in text


def test_a_direct_order_is_the_event_the_gateway_would_publish() -> None:
    products = [{"productId": "prod-001", "price": "49.995", "available": 3}]
    body = order_body(1, "abc", products, random.Random(1))
    at = datetime(2026, 12, 1, tzinfo=UTC)
    event = order_placed(body, at)
    assert decode(encode(event)) == event  # valid on the wire: amount matches its lines
    assert (event.order_id, event.correlation_id, event.occurred_at) == ("load-abc-1",) * 2 + (at,)
    assert event.amount == Decimal("49.995")
