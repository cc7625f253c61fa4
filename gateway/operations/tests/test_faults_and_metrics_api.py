"""Fault settings (staff only, in Redis) and the metrics endpoints."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from contracts.failures import FAULTS_KEY, decode_faults
from gateway.operations.kafka_figures import KafkaFigures
from gateway.operations.tests.conftest import FakeRedis
from gateway.operations.tests.factories import stored

pytestmark = [pytest.mark.django_db, pytest.mark.urls("gateway.operations.urls")]


def put(client: Client, url: str, body: object):
    return client.put(url, json.dumps(body), content_type="application/json")


def test_faults_are_listed_for_every_service_and_set_per_service(
    staff_client: Client, fake_redis: FakeRedis
) -> None:
    before = staff_client.get("/api/ops/faults").json()
    response = put(staff_client, "/api/ops/faults/payment", {"failureRate": 0.25, "latencyMs": 40})
    after = staff_client.get("/api/ops/faults").json()

    assert sorted(before) == ["analytics", "inventory", "notification", "payment", "saga"]
    assert before["payment"] == {
        "failureRate": 0.0,
        "latencyMs": 0,
        "failAttempts": 0,
        "active": False,
    }
    assert response.status_code == 200
    assert after["payment"] == {
        "failureRate": 0.25,
        "latencyMs": 40,
        "failAttempts": 0,
        "active": True,
    }
    stored_settings = decode_faults(fake_redis.hashes[FAULTS_KEY][b"payment"])
    assert stored_settings.failure_rate == 0.25


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"failureRate": 1.5}, "failureRate"),
        ({"latencyMs": "slow"}, "latencyMs"),
        ({"failAttempts": -1}, "failAttempts"),
        ({"failurerate": 0.1}, "failurerate"),
        ([1], "body"),
    ],
)
def test_invalid_fault_settings_are_400_naming_the_field(
    staff_client: Client, fake_redis: FakeRedis, body: object, field: str
) -> None:
    response = put(staff_client, "/api/ops/faults/payment", body)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert fake_redis.hashes == {}


def test_unknown_service_is_404_and_faults_are_staff_only(
    client: Client, staff_client: Client, fake_redis: FakeRedis
) -> None:
    assert put(staff_client, "/api/ops/faults/bank", {}).status_code == 404
    assert (
        Client().put("/api/ops/faults/payment", "{}", content_type="application/json").status_code
        == 401
    )


def test_dlq_metrics_count_pending_by_topic_error_type_and_group(
    client: Client, staff_client: Client, broker: KafkaFigures
) -> None:
    stored()
    stored(original_topic="payments.v1", error_type="ContractError", consumer_group="projector")
    done = stored()
    staff_client.post(f"/api/ops/dlq/{done.pk}/discard")

    body = Client().get("/metrics/dlq").json()

    assert body["depth"] == {
        "pending": 2,
        "byTopic": {"orders.v1": 1, "payments.v1": 1},
        "byErrorType": {"ContractError": 1, "TimeoutError": 1},
        "byGroup": {"payment": 1, "projector": 1},
    }
    assert body["retries"] == {
        "byTier": {"orders.retry.1s.v1": 5, "orders.retry.4s.v1": 2, "orders.retry.16s.v1": 0},
        "error": None,
    }
    assert (body["redriven"], body["discarded"]) == (0, 1)
    assert body["auditActions"] == {"discard": 1}


def test_prometheus_text_exposition(client: Client, broker: KafkaFigures) -> None:
    stored()

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = response.content.decode()
    assert 'saga_dlq_pending{topic="orders.v1",error_type="TimeoutError"} 1' in text
    assert 'gateway_projector_lag{topic="orders.v1",partition="0"} 3' in text
    assert "gateway_outbox_backlog 0" in text
    assert "# TYPE gateway_http_requests_total counter" in text
