"""The order API against the Django test client: acceptance, validation, idempotency."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

import contracts
from gateway.orders.models import Order
from gateway.outbox.models import OutboxMessage

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalogue")]

CURL_BODY: dict[str, Any] = {
    "orderId": "550e8400-e29b-41d4-a716-446655440000",
    "userId": "user-123",
    "amount": 99.99,
    "currency": "USD",
    "items": [{"productId": "prod-001", "quantity": 2, "price": 49.995}],
}


def post(client, body: Any, **headers: str):
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.post("/api/orders", raw, content_type="application/json", headers=headers)


def fields_of(response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


def test_the_curl_example_is_accepted_with_location_and_one_outbox_event(client):
    response = post(client, CURL_BODY)

    assert response.status_code == 202
    assert response["Location"] == "/api/orders/550e8400-e29b-41d4-a716-446655440000"
    body = response.json()
    assert body["status"] == "PENDING"
    assert body["amount"] == "99.99"
    [message] = OutboxMessage.objects.all()
    assert message.topic == "orders.v1"
    assert bytes(message.key) == b"550e8400-e29b-41d4-a716-446655440000"
    event = contracts.decode_as(bytes(message.value), contracts.OrderPlaced)
    assert event.order_id == CURL_BODY["orderId"]
    assert event.correlation_id == CURL_BODY["orderId"]
    assert event.amount == Decimal("99.99")
    assert event.items[0].unit_price == Decimal("49.995")


def test_order_id_is_generated_when_absent_and_amount_computed_when_absent(client):
    body = {k: v for k, v in CURL_BODY.items() if k not in ("orderId", "amount")}
    response = post(client, body)

    assert response.status_code == 202
    order_id = response.json()["orderId"]
    assert len(order_id) == 36
    assert Order.objects.get(order_id=order_id).amount == Decimal("99.99")


def test_repeated_order_id_with_same_body_returns_the_same_order(client):
    first = post(client, CURL_BODY)
    second = post(client, CURL_BODY)

    assert second.status_code == 202
    assert second["Idempotent-Replayed"] == "true"
    assert second.json()["orderId"] == first.json()["orderId"]
    assert Order.objects.count() == 1
    assert OutboxMessage.objects.count() == 1


def test_idempotency_key_with_same_body_returns_same_order_and_different_body_is_422(client):
    body = {k: v for k, v in CURL_BODY.items() if k != "orderId"}
    first = post(client, body, **{"Idempotency-Key": "key-1"})
    again = post(client, body, **{"Idempotency-Key": "key-1"})
    other = post(client, {**body, "userId": "user-999"}, **{"Idempotency-Key": "key-1"})

    assert first.status_code == again.status_code == 202
    assert again.json()["orderId"] == first.json()["orderId"]
    assert other.status_code == 422
    assert fields_of(other) == ["Idempotency-Key"]
    assert OutboxMessage.objects.count() == 1


def test_repeated_order_id_with_a_different_body_is_422(client):
    post(client, CURL_BODY)
    response = post(client, {**CURL_BODY, "userId": "someone-else"})

    assert response.status_code == 422
    assert fields_of(response) == ["orderId"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 100.00}, "amount"),
        ({"amount": -1}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"userId": ""}, "userId"),
        ({"userId": "has space"}, "userId"),
        ({"currency": "usd"}, "currency"),
        ({"items": []}, "items"),
        ({"items": "nope"}, "items"),
        ({"items": [{"productId": "p1", "quantity": 0, "price": 1}]}, "items[0].quantity"),
        ({"items": [{"productId": "p1", "quantity": 1, "price": -1}]}, "items[0].price"),
        ({"items": [{"productId": "p1", "quantity": 1, "price": 1.0001}]}, "items[0].price"),
        ({"items": [{"quantity": 1, "price": 1}]}, "items[0].productId"),
        ({"orderId": "x" * 65}, "orderId"),
    ],
)
def test_invalid_fields_are_named_and_produce_no_event(client, change, field):
    response = post(client, {**CURL_BODY, **change})

    assert response.status_code == 400, response.json()
    assert response.json()["type"] == "validation_error"
    assert field in fields_of(response)
    assert OutboxMessage.objects.count() == 0
    assert Order.objects.count() == 0


def test_every_bad_field_is_reported_at_once(client):
    response = post(
        client, {"userId": "", "items": [{"productId": "p", "quantity": 0, "price": 1}]}
    )

    assert set(fields_of(response)) == {"userId", "items[0].quantity"}


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "kind"),
    [
        ("{not json", "application/json", 400, "parse_error"),
        ("[1, 2]", "application/json", 400, "validation_error"),
        ("userId=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        ("{}", "text/plain", 415, "unsupported_media_type"),
        ('{"amount": NaN}', "application/json", 400, "parse_error"),
    ],
)
def test_malformed_bodies_get_their_proper_4xx(client, raw, content_type, status, kind):
    response = client.post("/api/orders", raw, content_type=content_type)

    assert response.status_code == status
    assert response.json()["type"] == kind
    assert response.json()["errors"][0]["field"]
    assert OutboxMessage.objects.count() == 0


def test_oversized_body_is_413(client, settings):
    response = post(client, {**CURL_BODY, "pad": "x" * settings.MAX_REQUEST_BODY_BYTES})

    assert response.status_code == 413
    assert response.json()["type"] == "payload_too_large"
    assert OutboxMessage.objects.count() == 0


def test_unknown_route_and_method_are_json(client):
    assert client.get("/api/nope").json()["type"] == "not_found"
    response = client.delete("/api/orders")
    assert response.status_code == 405
    assert response.json()["errors"][0]["field"] == "method"


def test_get_order_404_names_the_id(client):
    response = client.get("/api/orders/missing-1")

    assert response.status_code == 404
    assert "missing-1" in response.json()["detail"]


def test_list_is_paged_and_filtered_by_status(client):
    for n in range(3):
        post(client, {**CURL_BODY, "orderId": f"order-{n}"})
    Order.objects.filter(order_id="order-1").update(status="COMPLETED")

    page = client.get("/api/orders?limit=2").json()
    completed = client.get("/api/orders?status=COMPLETED").json()
    invalid = client.get("/api/orders?status=NOPE")

    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert [o["orderId"] for o in completed["results"]] == ["order-1"]
    assert invalid.status_code == 400 and fields_of(invalid) == ["status"]


def test_openapi_schema_and_swagger_ui_are_served_without_a_cdn(client):
    schema = client.get("/api/schema")
    docs = client.get("/api/docs")

    assert schema.status_code == 200 and b"/api/orders" in schema.content
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower() and b"static/drf_spectacular_sidecar" in docs.content


def test_health_is_alive(client):
    assert client.get("/health").json() == {"status": "ok"}


def test_index_links_to_the_api(client):
    assert client.get("/").json()["links"]["orders"] == "/api/orders"


# -- customer data (issue 12, finding 9): anonymous callers see no personal fields ------


def _notified_order(client) -> str:
    from datetime import UTC, datetime

    from gateway.orders.models import TimelineEntry

    post(client, CURL_BODY)
    order = Order.objects.get(order_id=CURL_BODY["orderId"])
    order.notification_status, order.notification_detail = "SENT", "email: Order confirmed"
    order.save()
    TimelineEntry.objects.create(
        event_id="6f1c1f5e-4a51-4cde-8a9b-0b7c1e2f3a4b",
        order_id=order.order_id,
        event_type="notification.sent.v1",
        topic="notifications.v1",
        partition=0,
        offset=1,
        occurred_at=datetime.now(UTC),
        recorded_at=datetime.now(UTC),
        data={"user_id": "user-123", "subject": "Order confirmed", "body": "Hello user-123"},
    )
    return order.order_id


def _staff(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("ops", is_staff=True))
    return client


def test_anonymous_list_and_detail_show_a_pseudonym_and_no_notification_text(client):
    order_id = _notified_order(client)

    [row] = client.get("/api/orders").json()["results"]
    detail = client.get(f"/api/orders/{order_id}").json()

    for body in (row, detail):
        assert body["userId"].startswith("anon-") and body["userId"] != "user-123"
        assert body["notification"] == {"status": "SENT", "detail": None}
        assert body["amount"] == "99.99" and body["items"]  # a demo shop's figures stay
    assert row["userId"] == detail["userId"]  # one customer, one pseudonym
    [event] = detail["timeline"]
    assert event["data"] == {"user_id": row["userId"]}
    assert "user-123" not in json.dumps([row, detail])


def test_staff_sessions_see_every_field(client, django_user_model):
    order_id = _notified_order(client)
    _staff(client, django_user_model)

    [row] = client.get("/api/orders").json()["results"]
    detail = client.get(f"/api/orders/{order_id}").json()

    assert row["userId"] == detail["userId"] == "user-123"
    assert detail["notification"]["detail"] == "email: Order confirmed"
    assert detail["timeline"][0]["data"]["body"] == "Hello user-123"


def test_the_order_a_customer_posts_is_answered_in_full(client):
    assert post(client, CURL_BODY).json()["userId"] == "user-123"
