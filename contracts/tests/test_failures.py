"""Failure history and dead letters, as the workers' guard and the projector build them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts import Attempt, DeadLetter, decode, encode
from contracts import failures as wire
from contracts.failures import RetryState, dead_letter, dead_letter_headers

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class PermanentError(Exception):
    """Stands for any error a handler raises."""


def test_retry_headers_round_trip_and_keep_the_original_headers() -> None:
    original = [("trace", b"abc"), (wire.RETRY_ATTEMPT, b"9")]
    state = RetryState.first("orders.v1", 4, 120, original).failed(AT, "orders.v1", TimeoutError())
    headers = state.headers(original, group="payment", agent="authorize_payments", due_at_ms=77)
    assert headers[0] == ("trace", b"abc")
    assert wire.header(headers, wire.RETRY_ATTEMPT) == b"1"  # the stale copy is gone
    back = RetryState.from_headers(headers)
    assert back == RetryState(
        "orders.v1", 4, 120, 1, 77, "payment", "authorize_payments", state.history
    )
    assert back.history[0].error_type == "TimeoutError"
    assert RetryState.from_headers([("trace", b"abc")]) is None


def test_a_redriven_message_starts_over_with_its_history() -> None:
    earlier = RetryState.first("orders.v1", 0, 1, []).failed(AT, "orders.v1", ValueError("a"))
    headers = [(wire.HISTORY, wire.encode_history(earlier.history))]
    state = RetryState.first("orders.v1", 0, 99, headers)
    assert state.attempts == 0 and state.history == earlier.history
    assert RetryState.first("t", 0, 0, [(wire.HISTORY, b"{garbage")]).history == ()


def test_a_dead_letter_keeps_the_original_bytes_origin_error_and_history() -> None:
    try:
        raise PermanentError("amount does not match its lines")
    except PermanentError as exc:
        failure = exc
    state = RetryState.first("orders.v1", 2, 7, []).failed(AT, "orders.v1", failure)
    record = dead_letter(
        state,
        key=b"order-1",
        value=b"\xff\x00not json",
        headers=[("trace", b"t"), (wire.RETRY_GROUP, b"payment")],
        group="payment",
        exc=failure,
        at=AT,
    )
    again = decode(encode(record))
    assert isinstance(again, DeadLetter) and again == record
    assert (record.original_topic, record.partition, record.offset) == ("orders.v1", 2, 7)
    assert record.key == b"order-1" and record.value == b"\xff\x00not json"
    assert record.headers == (("trace", b"t"),)
    assert record.consumer_group == "payment" and record.attempts == 1
    assert record.error_type == "contracts.tests.test_failures.PermanentError"
    assert "amount does not match" in record.error_message
    assert "raise PermanentError" in record.error_stack
    assert record.correlation_id == "order-1"
    assert dict(dead_letter_headers(record)) == {
        wire.DLQ_GROUP: b"payment",
        wire.DLQ_ORIGINAL_TOPIC: b"orders.v1",
        wire.DLQ_ERROR_TYPE: b"contracts.tests.test_failures.PermanentError",
        wire.DLQ_ATTEMPTS: b"1",
    }
    # The same failure dead-lettered again (a redelivery) is the same record.
    assert (
        dead_letter(
            state, key=b"order-1", value=b"x", headers=[], group="payment", exc=failure, at=AT
        ).event_id
        == record.event_id
    )


def test_a_key_that_is_no_id_gets_a_generic_correlation() -> None:
    state = RetryState.first("orders.v1", 0, 0, []).failed(AT, "orders.v1", ValueError())
    for key in (None, b"\xff", b"has space"):
        record = dead_letter(
            state, key=key, value=b"", headers=[], group="g", exc=ValueError(), at=AT
        )
        assert record.correlation_id == "dead-letter"


def test_a_dead_letter_keeps_an_earlier_life_and_its_id_depends_on_its_position() -> None:
    earlier = Attempt(
        at=AT - timedelta(hours=1), topic="orders.v1", error_type="X", error_message="y"
    )
    headers = [
        ("h", b"1"),
        (wire.HISTORY, wire.encode_history([earlier])),
        (wire.REDRIVE_GROUP, b"projector"),
    ]

    def letter(offset: int) -> DeadLetter:
        state = RetryState.first("payments.v1", 2, offset, headers)
        exc = ValueError("JSON is malformed")
        return dead_letter(
            state.failed(AT, "payments.v1", exc),
            key=b"order-9",
            value=b"\x00not json",
            headers=headers,
            group="projector",
            exc=exc,
            at=AT,
        )

    first = letter(7)
    assert first.headers == (("h", b"1"),)  # the redrive's own headers are not kept
    assert first.history[0] == earlier and first.history[-1].error_type == "ValueError"
    assert first.attempts == 1 and len(first.history) == 2  # attempts of this life
    assert first.correlation_id == "order-9"
    assert letter(7).event_id == first.event_id
    assert letter(8).event_id != first.event_id
