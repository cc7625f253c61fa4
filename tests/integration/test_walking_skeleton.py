"""An order goes in over HTTP, payment decides, the status comes out: all on real Kafka,
PostgreSQL and Redis, with the gateway, relay, projector and payment worker as processes."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from aiokafka.partitioner import DefaultPartitioner

import contracts
from harness.runner import Platform
from tests.integration.support import eventually, http, produce, read_topic

pytestmark = pytest.mark.integration

CURL_BODY: dict[str, Any] = {
    "orderId": "550e8400-e29b-41d4-a716-446655440000",
    "userId": "user-123",
    "amount": 99.99,
    "currency": "USD",
    "items": [{"productId": "prod-001", "quantity": 2, "price": 49.995}],
}


def new_order(**overrides: Any) -> dict[str, Any]:
    return {**CURL_BODY, "orderId": f"it-{uuid.uuid4()}", **overrides}


def bootstrap(platform: Platform) -> str:
    return platform.env["KAFKA_BOOTSTRAP_SERVERS"]


def place(platform: Platform, body: dict[str, Any]) -> dict[str, Any]:
    status, headers, answer = http("POST", f"{platform.gateway_url}/api/orders", body)
    assert status == 202, answer
    assert headers["Location"] == f"/api/orders/{answer['orderId']}"
    return answer


def paid(platform: Platform, order_id: str, timeout: float) -> dict[str, Any]:
    """Wait until the read model shows the order's payment outcome."""

    def probe() -> dict[str, Any] | None:
        status, _, order = http("GET", f"{platform.gateway_url}/api/orders/{order_id}")
        return order if status == 200 and order["payment"]["status"] else None

    return eventually(probe, timeout=timeout, what=f"the payment outcome of {order_id}")


def events_of(platform: Platform, topic: str, order_id: str) -> list[tuple[int, Any]]:
    """(partition, decoded event) of every record about ``order_id`` on ``topic``."""
    return [
        (r.partition, contracts.decode(r.value))
        for r in read_topic(bootstrap(platform), topic)
        if r.key == order_id.encode()
    ]


def charges(platform: Platform, order_id: str) -> Counter[str]:
    """Distinct authorizations per order: a redelivered identical event is one charge."""
    authorized = {
        e.event_id
        for _, e in events_of(platform, "payments.v1", order_id)
        if isinstance(e, contracts.PaymentAuthorized)
    }
    return Counter({order_id: len(authorized)})


def catalogue(platform: Platform) -> None:
    """The gateway prices orders from its catalogue, which inventory publishes; inventory
    does not run here, so publish the level of the product the orders name."""
    level = contracts.StockLevel(
        correlation_id="walking-skeleton",
        product_id="prod-001",
        name="Espresso beans, 1 kg",
        price=Decimal("49.995"),
        available=1000,
        reserved=0,
        sold=0,
    )
    produce(
        bootstrap(platform), "inventory.stock.v1", contracts.key_of(level), contracts.encode(level)
    )

    def listed() -> bool:
        status, _, products = http("GET", f"{platform.gateway_url}/api/products")
        return status == 200 and any(p["productId"] == "prod-001" for p in products)

    eventually(listed, timeout=30, what="prod-001 in the catalogue")


@pytest.fixture(scope="module", autouse=True)
def warmed_up(platform: Platform) -> None:
    """Every consumer group has joined once one order went all the way through."""
    catalogue(platform)
    paid(platform, place(platform, new_order())["orderId"], timeout=60)


def test_the_curl_example_shows_its_payment_outcome_within_two_seconds(platform: Platform) -> None:
    started = time.monotonic()
    answer = place(platform, CURL_BODY)
    order = paid(platform, answer["orderId"], timeout=2.0)

    assert time.monotonic() - started < 2.0
    assert answer["orderId"] == CURL_BODY["orderId"]
    assert order["payment"]["status"] == "AUTHORIZED"


def test_the_timeline_shows_each_hop_with_its_kafka_position(platform: Platform) -> None:
    order = paid(platform, place(platform, new_order())["orderId"], timeout=10)

    placed, authorized = order["timeline"]
    assert placed["type"] == "order.placed.v1" and placed["topic"] == "orders.v1"
    assert authorized["type"] == "payment.authorized.v1" and authorized["topic"] == "payments.v1"
    assert placed["partition"] == authorized["partition"]
    assert placed["offset"] >= 0 and authorized["offset"] >= 0
    assert authorized["causationId"] == placed["eventId"]
    assert placed["hopLatencyMs"] is None
    assert 0 <= authorized["hopLatencyMs"] < 2000


def test_events_carry_the_envelope_the_order_key_and_murmur2_partition(platform: Platform) -> None:
    order_id = place(platform, new_order())["orderId"]
    paid(platform, order_id, timeout=10)
    expected = DefaultPartitioner()(order_id.encode(), list(range(6)), list(range(6)))

    [(p_order, placed)] = events_of(platform, "orders.v1", order_id)
    [(p_payment, authorized)] = events_of(platform, "payments.v1", order_id)

    assert p_order == p_payment == expected
    assert isinstance(placed, contracts.OrderPlaced)
    assert placed.correlation_id == order_id and placed.causation_id is None
    assert placed.occurred_at.tzinfo is not None
    assert isinstance(authorized, contracts.PaymentAuthorized)
    assert authorized.correlation_id == order_id
    assert authorized.causation_id == str(placed.event_id)


def test_a_redelivered_order_is_not_charged_twice(platform: Platform) -> None:
    order_id = place(platform, new_order())["orderId"]
    paid(platform, order_id, timeout=10)
    [record] = [
        r for r in read_topic(bootstrap(platform), "orders.v1") if r.key == order_id.encode()
    ]

    produce(bootstrap(platform), "orders.v1", record.key, record.value)
    produce(bootstrap(platform), "orders.v1", record.key, record.value)
    # A later order on the same partition proves the duplicates were consumed.
    marker = new_order()
    while (
        DefaultPartitioner()(marker["orderId"].encode(), list(range(6)), list(range(6)))
        != record.partition
    ):
        marker = new_order()
    paid(platform, place(platform, marker)["orderId"], timeout=10)
    eventually(
        lambda: len(events_of(platform, "payments.v1", marker["orderId"])) >= 1,
        timeout=10,
        what="the marker's payment on payments.v1",
    )

    assert charges(platform, order_id)[order_id] == 1


def test_invalid_requests_get_errors_and_produce_no_events(platform: Platform) -> None:
    before = len(read_topic(bootstrap(platform), "orders.v1"))
    url = f"{platform.gateway_url}/api/orders"
    bad = [
        http("POST", url, new_order(amount=1)),
        http("POST", url, new_order(items=[])),
        http("POST", url, b"{broken", content_type="application/json"),
        http("POST", url, b"userId=x", content_type="application/x-www-form-urlencoded"),
        http("POST", url, new_order(pad="x" * 70_000)),
    ]
    marker = place(platform, new_order())["orderId"]
    paid(platform, marker, timeout=10)

    assert [status for status, _, _ in bad] == [400, 400, 400, 415, 413]
    assert all(body["errors"][0]["field"] for _, _, body in bad)
    after = read_topic(bootstrap(platform), "orders.v1")
    assert len(after) == before + 1
    assert after and any(r.key == marker.encode() for r in after)


def test_killing_and_restarting_the_payment_worker_charges_nobody_twice(platform: Platform) -> None:
    worker = next(name for name in platform.names if name.startswith("payment"))
    first = [place(platform, new_order(userId=f"user-{n}"))["orderId"] for n in range(20)]
    platform.supervisor.kill(worker)
    during = [place(platform, new_order(userId=f"user-k{n}"))["orderId"] for n in range(20)]
    platform.supervisor.start(worker)

    for order_id in first + during:
        assert paid(platform, order_id, timeout=60)["payment"]["status"] == "AUTHORIZED"
    payments = read_topic(bootstrap(platform), "payments.v1")
    distinct: dict[str, set[uuid.UUID]] = {}
    for record in payments:
        event = contracts.decode(record.value)
        if isinstance(event, contracts.PaymentAuthorized):
            distinct.setdefault(event.order_id, set()).add(event.event_id)
    assert all(len(distinct[o]) == 1 for o in first + during)
