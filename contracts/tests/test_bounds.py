"""Bounds that keep every decodable event storable, and dead letters that always fit."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest

import contracts as c
from contracts.events import INT32_MAX, INT64_MAX
from contracts.failures import (
    DLQ_TRUNCATED,
    HEADERS_MAX,
    HISTORY_MAX,
    KEY_MAX,
    VALUE_MAX,
    Attempt,
    RetryState,
    dead_letter,
    header,
    original_headers,
)

EXAMPLES = c.__file__.rsplit("/", 1)[0] + "/examples"
AT = datetime(2026, 1, 1, tzinfo=UTC)


def example(name: str) -> dict[str, Any]:
    with open(f"{EXAMPLES}/{name}.v1.json", encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        ("order.cancelled", "detail", "late\x00"),
        ("notification.sent", "body", "\x00"),
        ("dlq.record", "error_message", "a\x00b"),
        ("dlq.record", "consumer_group", "g\x00"),
        ("dlq.record", "consumer_group", "g" * 129),
        ("dlq.record", "original_topic", "t" * 129),
        ("dlq.record", "error_type", "E" * 201),
        ("dlq.record", "partition", INT32_MAX + 1),
        ("dlq.record", "offset", INT64_MAX + 1),
        ("dlq.record", "attempts", INT32_MAX + 1),
        ("inventory.stock_level", "name", "n" * 201),
        ("inventory.stock_level", "available", INT32_MAX + 1),
        ("order.placed", "amount", "1000000000000"),
        ("payment.authorized", "amount", "1000000000000.00"),
    ],
)
def test_what_the_read_model_cannot_hold_does_not_decode(name: str, field: str, value: Any) -> None:
    data = example(name)
    c.decode(json.dumps(data))  # the example itself is valid
    data[field] = value
    with pytest.raises(c.ContractError):
        c.decode(json.dumps(data))


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        ("dlq.record", "consumer_group", "g" * 128),
        ("dlq.record", "error_type", "E" * 200),
        ("dlq.record", "offset", INT64_MAX),
        ("inventory.stock_level", "sold", INT32_MAX),
        ("order.placed", "amount", "999999999999.99"),
    ],
)
def test_the_bounds_themselves_still_decode(name: str, field: str, value: Any) -> None:
    data = example(name)
    data[field] = value
    if field == "amount":
        data["items"] = [{**data["items"][0], "quantity": 1, "unit_price": value}]
    decoded = getattr(c.decode(json.dumps(data)), field)
    assert str(decoded) == str(value)


def letter(value: bytes, key: bytes | None = b"o-1", **kw: Any) -> c.DeadLetter:
    state = kw.pop("state", RetryState.first("orders.v1", 0, 7, []))
    headers = kw.pop("headers", [("traceparent", b"00-1")])
    exc = kw.pop("exc", ValueError("bad"))
    return dead_letter(
        state.failed(AT, "orders.v1", exc),
        key=key, value=value, headers=headers, group="payment", exc=exc, at=AT,
    )  # fmt: skip


def test_a_small_record_is_kept_whole_without_a_truncation_header() -> None:
    made = letter(b"x" * 100)
    assert (made.value, made.key, made.headers) == (b"x" * 100, b"o-1", (("traceparent", b"00-1"),))


def test_an_oversized_value_and_key_keep_their_head_and_a_hash() -> None:
    value, key = b"v" * (VALUE_MAX * 4), b"k" * (KEY_MAX + 1)
    made = letter(value, key)
    assert (made.value, made.key) == (value[:VALUE_MAX], key[:KEY_MAX])
    cut = json.loads(header(list(made.headers), DLQ_TRUNCATED) or b"")
    assert cut["value"] == {"sha256": hashlib.sha256(value).hexdigest(), "bytes": len(value)}
    assert cut["key"]["bytes"] == KEY_MAX + 1
    # the truncation note is the platform's: a redrive does not pass it on
    assert original_headers(list(made.headers)) == [("traceparent", b"00-1")]


def test_every_dead_letter_fits_a_kafka_record() -> None:
    history = tuple(
        Attempt(at=AT, topic="orders.v1", error_type="E" * 200, error_message="m" * 2000)
        for _ in range(HISTORY_MAX * 3)
    )
    made = letter(
        b"v" * (8 * 2**20),
        b"k" * 2**20,
        headers=[(f"h{i}", b"x" * 4096) for i in range(1000)],
        state=RetryState("orders.v1", 0, 7, attempts=60, history=history),
    )
    assert len(made.history) == HISTORY_MAX
    assert sum(len(k) + len(v) for k, v in made.headers[:-1]) <= HEADERS_MAX
    cut = json.loads(header(list(made.headers), DLQ_TRUNCATED) or b"")
    assert set(cut) == {"value", "key", "headers", "history"}
    assert len(c.encode(made)) < 1_000_000  # Kafka's default max.message.bytes is 1 MiB
    assert c.decode(c.encode(made)) == made


def test_an_error_that_quotes_a_nul_still_makes_a_readable_dead_letter() -> None:
    made = dead_letter(
        RetryState.first("orders.v1", 0, 7, []).failed(AT, "orders.v1", ValueError("a\x00b")),
        key=b"o-1", value=b"", headers=[], group="payment", exc=ValueError("a\x00b"), at=AT,
    )  # fmt: skip
    assert "\x00" not in made.error_message and "\x00" not in made.history[0].error_message
    assert c.decode(c.encode(made)) == made


def test_a_long_error_type_is_cut_to_its_column() -> None:
    kind = type("E" * 300, (Exception,), {})
    made = letter(b"", exc=kind("x"))
    assert len(made.error_type) == 200
    assert c.decode(c.encode(made)) == made
