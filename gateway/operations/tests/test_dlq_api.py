"""The staff-only DLQ API: list, show, redrive, discard, each action audited."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from contracts import failures as wire
from gateway.operations.models import AuditEntry, DeadLetterRecord
from gateway.operations.publisher import FakePublisher
from gateway.operations.tests.conftest import basic
from gateway.operations.tests.factories import T0, stored

pytestmark = [pytest.mark.django_db, pytest.mark.urls("gateway.operations.urls")]


def post(client: Client, url: str, body: Any = None) -> Any:
    data = json.dumps(body) if body is not None else ""
    return client.post(url, data, content_type="application/json")


def fields_of(response: Any) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


def test_anonymous_is_401_with_a_basic_challenge_and_non_staff_403(client: Client) -> None:
    User.objects.create_user("bob", password="pw-bob-123")

    anonymous = client.get("/api/ops/dlq")
    plain = client.get("/api/ops/dlq", **basic("bob", "pw-bob-123"))
    wrong = client.get("/api/ops/dlq", **basic("bob", "nope"))

    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Basic")
    assert anonymous.json()["type"] == "not_authenticated"
    assert plain.status_code == 403 and fields_of(plain) == ["user"]
    assert wrong.status_code == 401


def test_session_auth_needs_the_csrf_token_for_actions(staff: dict[str, str]) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.login(username="ops", password="s3cret-pw")
    record = stored()

    assert browser.get("/api/ops/dlq").status_code == 200
    refused = browser.post(f"/api/ops/dlq/{record.pk}/discard")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]


def test_list_filters_by_topic_error_type_group_status_and_time(staff_client: Client) -> None:
    a = stored()
    b = stored(
        original_topic="payments.v1", error_type="ContractError", failed_at=T0 + timedelta(hours=1)
    )
    c = stored(consumer_group="saga", failed_at=T0 - timedelta(hours=1))

    def ids(**query: str) -> list[int]:
        response = staff_client.get("/api/ops/dlq", query)
        assert response.status_code == 200, response.json()
        return [r["id"] for r in response.json()["results"]]

    assert ids() == [b.pk, a.pk, c.pk]
    assert ids(topic="payments.v1") == [b.pk]
    assert ids(errorType="TimeoutError") == [a.pk, c.pk]
    assert ids(group="saga") == [c.pk]
    assert ids(since=T0.isoformat()) == [b.pk, a.pk]
    assert ids(until=T0.isoformat()) == [c.pk]
    assert ids(status="pending", limit="1") == [b.pk]
    assert staff_client.get("/api/ops/dlq", {"limit": "1"}).json()["count"] == 3


def test_bad_filters_are_400_naming_the_field(staff_client: Client) -> None:
    response = staff_client.get("/api/ops/dlq", {"since": "yesterday", "status": "lost"})
    assert response.status_code == 400
    assert sorted(fields_of(response)) == ["since", "status"]
    backwards = staff_client.get(
        "/api/ops/dlq", {"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}
    )
    assert fields_of(backwards) == ["until"]


@pytest.mark.parametrize("word", ["redrive", "discard"])
def test_a_get_of_a_bulk_action_path_is_a_404_naming_the_id(
    staff_client: Client, word: str
) -> None:
    # GET /api/ops/dlq/redrive is GET /api/ops/dlq/{id} with the id "redrive": the
    # detail's answer for an id that is none, not a 405 the schema does not list.
    response = staff_client.get(f"/api/ops/dlq/{word}")
    assert response.status_code == 404
    assert fields_of(response) == ["id"]


def test_show_decodes_a_json_value_and_base64_otherwise(staff_client: Client) -> None:
    record = stored()
    binary = stored(value=b"\xff\xfe", key=None)
    odd_key = stored(key=b"\xff")

    body = staff_client.get(f"/api/ops/dlq/{record.pk}").json()
    by_event_id = staff_client.get(f"/api/ops/dlq/{record.event_id}").json()
    raw = staff_client.get(f"/api/ops/dlq/{binary.pk}").json()

    assert body == by_event_id
    assert body["value"] == {
        "encoding": "json",
        "data": {"type": "order.placed.v1", "order_id": "o-1"},
    }
    assert body["key"] == {"encoding": "utf-8", "data": "o-1"}
    assert body["headers"] == [{"name": "traceparent", "value": "00-abc-01"}]
    assert [a["topic"] for a in body["history"]] == [
        "orders.v1",
        "orders.retry.1s.v1",
        "orders.retry.4s.v1",
        "orders.v1",
    ]
    assert body["errorStack"] == "Traceback ..."
    assert (body["originalTopic"], body["originalPartition"], body["originalOffset"]) == (
        "orders.v1",
        3,
        41,
    )
    assert raw["value"] == {"encoding": "base64", "data": "//4="} and raw["key"] is None
    assert staff_client.get(f"/api/ops/dlq/{odd_key.pk}").json()["key"] == {
        "encoding": "base64",
        "data": "/w==",
    }
    assert staff_client.get("/api/ops/dlq/999999").status_code == 404
    assert staff_client.get("/api/ops/dlq/not-an-id").status_code == 404


def test_redrive_one_sends_it_back_marks_it_and_audits_then_refuses_a_second(
    staff_client: Client, publisher: FakePublisher
) -> None:
    record = stored()

    response = post(staff_client, f"/api/ops/dlq/{record.pk}/redrive")
    again = post(staff_client, f"/api/ops/dlq/{record.pk}/redrive")
    discard = post(staff_client, f"/api/ops/dlq/{record.pk}/discard")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "redriven" and response.json()["resolvedBy"] == "ops"
    [sent] = publisher.sent
    assert (sent.topic, sent.key) == ("orders.v1", b"o-1")
    assert wire.header(sent.headers, "redrive.group") == b"payment"
    assert wire.header(sent.headers, "redrive.id") == str(record.event_id).encode()
    assert again.status_code == discard.status_code == 409
    assert again.json()["type"] == "already_resolved"
    assert fields_of(again) == ["id"] and "already redriven by ops" in again.json()["detail"]
    assert again.json()["record"]["id"] == record.pk
    [entry] = AuditEntry.objects.all()
    assert (entry.action, entry.actor) == ("redrive", "ops")
    assert list(entry.records.all()) == [record]
    assert entry.detail["topics"] == ["orders.v1"]
    shown = staff_client.get(f"/api/ops/dlq/{record.pk}").json()
    assert [a["action"] for a in shown["audit"]] == ["redrive"]


def test_a_redrive_the_broker_did_not_acknowledge_leaves_the_record_pending(
    staff_client: Client, publisher: FakePublisher
) -> None:
    record = stored()
    publisher.error = ConnectionError("broker down")

    response = post(staff_client, f"/api/ops/dlq/{record.pk}/redrive")

    assert response.status_code == 503
    assert response.json()["type"] == "kafka_unavailable"
    assert fields_of(response) == [f"records[{record.pk}]"]
    record.refresh_from_db()
    assert record.status == "pending"
    assert AuditEntry.objects.get().detail["failed"][0]["id"] == record.pk


def test_a_dead_letter_from_no_redrive_target_is_refused_422_and_stays_pending(
    staff_client: Client, publisher: FakePublisher
) -> None:
    changelog = stored(original_topic="payment-ledger-changelog")
    retry = stored(original_topic="orders.retry.1s.v1")

    one = post(staff_client, f"/api/ops/dlq/{changelog.pk}/redrive")
    both = post(staff_client, "/api/ops/dlq/redrive", {"all": True})

    assert one.status_code == 422, one.json()
    assert one.json()["type"] == "not_redrivable"
    assert fields_of(one) == [f"records[{changelog.pk}].originalTopic"]
    assert "payment-ledger-changelog" in one.json()["errors"][0]["message"]
    assert one.json()["record"]["id"] == changelog.pk
    assert both.status_code == 422 and len(both.json()["errors"]) == 2
    assert publisher.sent == []
    assert set(DeadLetterRecord.objects.values_list("status", flat=True)) == {"pending"}
    assert retry.pk and not AuditEntry.objects.exists()


def test_redrive_all_sends_the_valid_targets_and_lists_the_refused_ones(
    staff_client: Client, publisher: FakePublisher
) -> None:
    good = stored()
    changelog = stored(original_topic="saga-orders-changelog")

    response = post(staff_client, "/api/ops/dlq/redrive", {"all": True})

    assert response.status_code == 200, response.json()
    assert response.json()["ids"] == [good.pk]
    [refused] = response.json()["refused"]
    assert refused["id"] == changelog.pk and "saga-orders-changelog" in refused["reason"]
    assert [s.topic for s in publisher.sent] == ["orders.v1"]
    changelog.refresh_from_db()
    assert changelog.status == "pending"
    assert AuditEntry.objects.get().detail["refused"] == [changelog.pk]


def test_bulk_redrive_takes_the_pending_matches_from_the_json_body_only(
    staff_client: Client, publisher: FakePublisher
) -> None:
    a = stored()
    b = stored(error_type="ContractError")
    c = stored()
    post(staff_client, f"/api/ops/dlq/{c.pk}/discard")

    by_query = post(staff_client, "/api/ops/dlq/redrive?errorType=ContractError")
    by_body = post(staff_client, "/api/ops/dlq/redrive", {"errorType": "TimeoutError"})
    by_body_too = post(staff_client, "/api/ops/dlq/redrive", {"errorType": "ContractError"})

    # The query string is never read (an empty cross-site form post carries only that).
    assert by_query.status_code == 400 and fields_of(by_query) == ["errorType"]
    assert by_query.json()["errors"][0]["code"] == "query_string"
    assert by_body.status_code == 200, by_body.json()
    assert by_body.json()["ids"] == [a.pk] and by_body.json()["redriven"] == 1
    assert by_body_too.json()["ids"] == [b.pk]
    assert [s.topic for s in publisher.sent] == ["orders.v1", "orders.v1"]
    statuses = dict(DeadLetterRecord.objects.values_list("id", "status"))
    assert statuses == {a.pk: "redriven", b.pk: "redriven", c.pk: "discarded"}
    redrives = AuditEntry.objects.filter(action="redrive").order_by("id")
    assert [e.detail["filters"] for e in redrives] == [
        {"errorType": "TimeoutError"},
        {"errorType": "ContractError"},
    ]


def test_bulk_actions_need_a_filter_or_all_and_only_act_on_pending(
    staff_client: Client, publisher: FakePublisher
) -> None:
    stored()
    stored()

    empty = post(staff_client, "/api/ops/dlq/redrive", {})
    wrong_status = post(staff_client, "/api/ops/dlq/discard", {"status": "redriven"})
    everything = post(staff_client, "/api/ops/dlq/discard", {"all": True})

    assert empty.status_code == 400 and fields_of(empty) == ["filters"]
    assert wrong_status.status_code == 400 and fields_of(wrong_status) == ["status"]
    assert everything.json()["discarded"] == 2
    assert publisher.sent == []
    assert post(staff_client, "/api/ops/dlq/redrive", {"all": True}).json()["redriven"] == 0
