"""Retry decisions without a broker: classification, backoff tiers, headers, DLQ records."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
import redis

from contracts import ContractError, DeadLetter, decode, encode
from contracts import failures as wire
from streaming.faults import InjectedFault
from streaming.retrying import (
    PermanentError,
    RetryPolicy,
    RetryState,
    TransientError,
    dead_letter,
    dead_letter_headers,
    is_transient,
)

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "exc",
    [
        TransientError("x"),
        InjectedFault("x"),
        TimeoutError(),
        ConnectionRefusedError(),
        redis.exceptions.ConnectionError("down"),
        redis.exceptions.TimeoutError("slow"),
    ],
)
def test_dependency_failures_are_transient(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc", [ContractError("bad"), PermanentError("rule"), ValueError("x"), KeyError("k")]
)
def test_invalid_data_and_bugs_are_permanent(exc: BaseException) -> None:
    assert not is_transient(exc)


def test_three_tiers_then_the_dead_letter_queue() -> None:
    policy = RetryPolicy()
    assert [policy.tier_after(n) for n in (1, 2, 3, 4)] == [0, 1, 2, None]
    assert RetryPolicy(delays=(2.0,)).tier_after(2) is None


def test_delays_are_the_tier_delay_within_the_jitter() -> None:
    policy = RetryPolicy(delays=(1.0, 4.0, 16.0), jitter=0.1)
    rng = random.Random(3)
    for tier, base in enumerate(policy.delays):
        drawn = [policy.delay(tier, rng) for _ in range(200)]
        assert all(base * 0.9 <= d <= base * 1.1 for d in drawn)
        assert max(drawn) - min(drawn) > base * 0.1  # jitter does spread them


def test_delays_come_from_the_environment_with_clear_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RETRY_DELAYS", "0.5, 2")
    assert RetryPolicy.from_env().delays == (0.5, 2.0)
    monkeypatch.setenv("RETRY_DELAYS", "1,x")
    with pytest.raises(ValueError, match="RETRY_DELAYS"):
        RetryPolicy.from_env()
    monkeypatch.setenv("RETRY_DELAYS", "1,2,3,4")
    with pytest.raises(ValueError, match="at most 3 tiers"):
        RetryPolicy.from_env()
    monkeypatch.setenv("RETRY_DELAYS", "1,0")
    with pytest.raises(ValueError, match="positive"):
        RetryPolicy.from_env()


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
    assert record.error_type == "streaming.retrying.PermanentError"
    assert "amount does not match" in record.error_message
    assert "raise PermanentError" in record.error_stack
    assert record.correlation_id == "order-1"
    assert dict(dead_letter_headers(record)) == {
        wire.DLQ_GROUP: b"payment",
        wire.DLQ_ORIGINAL_TOPIC: b"orders.v1",
        wire.DLQ_ERROR_TYPE: b"streaming.retrying.PermanentError",
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
