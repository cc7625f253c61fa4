"""Failed attempts in an order's timeline: notes from retry records and dead letters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts.failures import RetryState, dead_letter
from gateway.orders.models import TimelineEntry
from gateway.orders.projection import project_notes
from gateway.orders.selectors import order_get
from gateway.projector.failure_notes import dead_letter_note, retry_note

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def failed_once() -> RetryState:
    return RetryState.first("orders.v1", 2, 40, []).failed(AT, "orders.v1", TimeoutError("bank"))


def test_a_retry_record_becomes_a_note_of_its_order() -> None:
    headers = failed_once().headers([], group="payment", agent="authorize_payments", due_at_ms=1)
    note = retry_note("orders.retry.1s.v1", 2, 7, b"order-1", headers, 1_764_590_400_000)
    assert note is not None
    assert (note.order_id, note.event_type, note.offset) == ("order-1", "retry.scheduled", 7)
    assert note.data["group"] == "payment" and note.data["failedAttempts"] == 1
    assert note.data["errorType"] == "TimeoutError" and note.data["origin"] == "orders.v1[2]@40"
    again = retry_note("orders.retry.1s.v1", 2, 7, b"order-1", headers, 1_764_590_400_000)
    assert again is not None and again.event_id == note.event_id  # redelivered: same note


def test_records_without_retry_headers_or_order_key_make_no_note() -> None:
    headers = failed_once().headers([], group="payment", agent="a", due_at_ms=1)
    assert retry_note("orders.retry.1s.v1", 0, 0, b"order-1", [], 0) is None
    assert retry_note("orders.retry.1s.v1", 0, 0, b"\xff", headers, 0) is None
    assert retry_note("orders.retry.1s.v1", 0, 0, None, headers, 0) is None


@pytest.mark.django_db
def test_notes_join_the_timeline_once() -> None:
    letter = dead_letter(
        failed_once(), key=b"order-1", value=b"{}", headers=[], group="inventory",
        exc=TimeoutError("redis"), at=AT,
    )  # fmt: skip
    note = dead_letter_note("orders.dlq.v1", 0, 3, letter)
    assert note is not None and note.data["group"] == "inventory"
    project_notes([note])
    project_notes([note])
    [entry] = TimelineEntry.objects.filter(order_id="order-1")
    assert (entry.event_type, entry.topic, entry.offset) == ("dlq.recorded", "orders.dlq.v1", 3)
    assert order_get(order_id="order-1") is None  # notes alone make no order
