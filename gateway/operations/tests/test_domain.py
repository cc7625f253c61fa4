"""Pure rules of the DLQ tools: redrive records, histories, poison dead letters, display."""

from __future__ import annotations

from contracts import Attempt
from contracts import failures as wire
from contracts.testing import DEAD_AT as T0
from contracts.testing import dead_letter
from gateway.operations.domain import (
    full_history,
    redrive_of,
    shown,
    shown_headers,
)


def test_a_redrive_sends_the_original_bytes_back_to_the_original_topic_for_its_group() -> None:
    letter = dead_letter(
        headers=(("traceparent", b"00-abc-01"), (wire.RETRY_ATTEMPT, b"3"), ("x", b"\xff"))
    )

    out = redrive_of(letter)

    assert (out.topic, out.key, out.value) == ("orders.v1", b"o-1", letter.value)
    names = [name for name, _ in out.headers]
    assert names == ["traceparent", "x", "redrive.group", "redrive.id", "failure.history"]
    assert wire.header(out.headers, "redrive.group") == b"payment"
    assert wire.header(out.headers, "redrive.id") == str(letter.event_id).encode()
    assert wire.decode_history(wire.header(out.headers, "failure.history")) == full_history(letter)


def test_the_history_gets_the_dead_lettering_attempt_unless_it_is_already_there() -> None:
    short = dead_letter()  # 3 attempts recorded, 4 made
    complete = dead_letter(attempts=3)

    assert full_history(complete) == complete.history
    [*earlier, last] = full_history(short)
    assert tuple(earlier) == short.history
    assert last == Attempt(
        at=T0, topic="orders.v1", error_type="TimeoutError", error_message="bank did not answer"
    )


def test_bytes_are_shown_as_json_when_they_are_json_else_base64() -> None:
    assert shown(b'{"a": 1}') == {"json": {"a": 1}}
    assert shown(b"\xff\x00") == {"base64": "/wA="}
    assert shown(b"not json") == {"base64": "bm90IGpzb24="}
    assert shown(None) is None
    assert shown_headers([("a", b"x"), ("b", b"\xff")]) == [
        {"name": "a", "value": "x"},
        {"name": "b", "base64": "/w=="},
    ]
