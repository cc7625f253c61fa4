"""The codec: round trips, every kind of bad input, forward compatibility, reactions, keys."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from contracts import (
    AuditSummary,
    ContractError,
    DeadLetter,
    Event,
    InventoryReserved,
    MinuteCountsUpdated,
    OrderCancelled,
    OrderCompleted,
    OrderEvent,
    OrderLine,
    OrderPlaced,
    PageViewed,
    PaymentAuthorized,
    PaymentDeclined,
    StockLine,
    TopProductsUpdated,
    decode,
    decode_as,
    derived_id,
    encode,
    key_of,
    reaction,
)
from contracts.tests.support import (
    EVENT_CLASSES,
    EVENT_IDS,
    dumps,
    example,
    example_bytes,
    example_json,
)

ORDER_ID = "550e8400-e29b-41d4-a716-446655440000"


def placed(**overrides: Any) -> OrderPlaced:
    fields: dict[str, Any] = {
        "order_id": ORDER_ID,
        "correlation_id": ORDER_ID,
        "user_id": "user-123",
        "currency": "USD",
        "amount": Decimal("99.99"),
        "items": (OrderLine(product_id="prod-001", quantity=2, unit_price=Decimal("49.995")),),
    }
    return OrderPlaced(**(fields | overrides))


# -- round trips -----------------------------------------------------------------


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=EVENT_IDS)
def test_every_type_round_trips(cls: type[Event]) -> None:
    event = example(cls)
    fresh = msgspec.structs.replace(event, event_id=uuid.uuid4(), occurred_at=datetime.now(UTC))

    assert decode(encode(fresh)) == fresh
    assert type(decode(encode(fresh))) is cls
    assert encode(decode(encode(fresh))) == encode(fresh)


def test_defaults_fill_the_envelope() -> None:
    event = placed()

    assert isinstance(event.event_id, uuid.UUID)
    assert event.occurred_at.tzinfo is not None
    assert event.causation_id is None
    assert decode(encode(event)) == event


def test_encoding_is_compact_json_with_the_type_first_and_money_as_strings() -> None:
    wire = encode(placed())

    assert wire.startswith(b'{"type":"order.placed.v1",')
    assert b" " not in wire
    data = json.loads(wire)
    assert data["amount"] == "99.99"
    assert data["items"][0]["unit_price"] == "49.995"


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview, lambda b: b.decode()])
def test_decode_takes_bytes_and_text(wrap: Callable[[bytes], Any]) -> None:
    assert decode(wrap(example_bytes(OrderPlaced))) == example(OrderPlaced)


# -- bad input -------------------------------------------------------------------

VALID = example_json(OrderPlaced)


def mutated(change: Callable[[dict[str, Any]], object]) -> bytes:
    data = json.loads(json.dumps(VALID))
    change(data)
    return dumps(data)


def deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


BAD_INPUT: dict[str, bytes | str] = {
    # malformed JSON
    "empty": b"",
    "truncated": example_bytes(OrderPlaced)[:-2],
    "not json": b"order placed",
    "trailing garbage": example_bytes(OrderPlaced) + b"}",
    "array": b"[]",
    "null": b"null",
    "number": b"42",
    "too deeply nested": deep(100_000),
    "too deeply nested unknown field": dumps(VALID)[:-1] + b',"x":' + deep(100_000) + b"}",
    # not UTF-8
    "latin-1 bytes": '{"type": "order.placed.v1", "user_id": "M\xfcller"}'.encode("latin-1"),
    "invalid utf-8 in a value": dumps(VALID).replace(b"user-123", b"user-\xff\xfe3"),
    "utf-16": dumps(VALID).decode().encode("utf-16"),
    "lone surrogate in text": dumps(VALID).decode().replace("user-123", "user-\ud800"),
    # type
    "unknown type": mutated(lambda d: d.update(type="order.shipped.v1")),
    "future version": mutated(lambda d: d.update(type="order.placed.v2")),
    "missing type": mutated(lambda d: d.pop("type")),
    "type not a string": mutated(lambda d: d.update(type=1)),
    # missing fields
    "missing order_id": mutated(lambda d: d.pop("order_id")),
    "missing correlation_id": mutated(lambda d: d.pop("correlation_id")),
    "missing amount": mutated(lambda d: d.pop("amount")),
    "missing items": mutated(lambda d: d.pop("items")),
    "missing line quantity": mutated(lambda d: d["items"][0].pop("quantity")),
    # wrong field types
    "quantity as string": mutated(lambda d: d["items"][0].update(quantity="2")),
    "quantity as float": mutated(lambda d: d["items"][0].update(quantity=2.0)),
    "quantity as bool": mutated(lambda d: d["items"][0].update(quantity=True)),
    "amount as bool": mutated(lambda d: d.update(amount=True)),
    "amount not a number": mutated(lambda d: d.update(amount="ninety")),
    "items as object": mutated(lambda d: d.update(items={"0": d["items"][0]})),
    "event_id not a uuid": mutated(lambda d: d.update(event_id="7d3c9a52")),
    "occurred_at as number": mutated(lambda d: d.update(occurred_at=1_790_000_000)),
    "order_id as number": mutated(lambda d: d.update(order_id=42)),
    # money
    "negative amount": mutated(lambda d: d.update(amount="-0.01")),
    "negative amount as number": mutated(lambda d: d.update(amount=-1.5)),
    "tiny negative amount": mutated(lambda d: d.update(amount="-1E-30")),
    "negative unit price": mutated(lambda d: d["items"][0].update(unit_price="-49.995")),
    "NaN amount": mutated(lambda d: d.update(amount="NaN")),
    "signalling NaN amount": mutated(lambda d: d.update(amount="sNaN")),
    "infinite amount": mutated(lambda d: d.update(amount="Infinity")),
    "amount of 10**15": mutated(lambda d: d.update(amount="1000000000000000")),
    "amount with a huge exponent": mutated(lambda d: d.update(amount="1E+999999999")),
    # datetimes
    "naive occurred_at": mutated(lambda d: d.update(occurred_at="2026-11-23T17:00:00")),
    "occurred_at not a date": mutated(lambda d: d.update(occurred_at="2026-13-45T17:00:00Z")),
    # currency
    "lowercase currency": mutated(lambda d: d.update(currency="usd")),
    "two-letter currency": mutated(lambda d: d.update(currency="US")),
    "four-letter currency": mutated(lambda d: d.update(currency="USDX")),
    "currency with a newline": mutated(lambda d: d.update(currency="USD\n")),
    # items
    "empty items": mutated(lambda d: d.update(items=[])),
    "101 items": mutated(lambda d: d.update(items=d["items"] * 101)),
    "quantity 0": mutated(lambda d: d["items"][0].update(quantity=0)),
    "quantity 10001": mutated(lambda d: d["items"][0].update(quantity=10_001)),
    "quantity beyond 64 bits": mutated(lambda d: d["items"][0].update(quantity=10**30)),
    # identifiers
    "order_id of 65 characters": mutated(lambda d: d.update(order_id="o" * 65)),
    "user_id of 65 characters": mutated(lambda d: d.update(user_id="u" * 65)),
    "product_id of 65 characters": mutated(lambda d: d["items"][0].update(product_id="p" * 65)),
    "correlation_id of 65 characters": mutated(lambda d: d.update(correlation_id="c" * 65)),
    "causation_id of 65 characters": mutated(lambda d: d.update(causation_id="c" * 65)),
    "empty order_id": mutated(lambda d: d.update(order_id="")),
    "order_id with a space": mutated(lambda d: d.update(order_id="order 1")),
    "order_id with a trailing newline": mutated(lambda d: d.update(order_id=ORDER_ID + "\n")),
    "order_id starting with a dash": mutated(lambda d: d.update(order_id="-1")),
    "non-ASCII order_id": mutated(lambda d: d.update(order_id="ordér-1")),
    # other types
    "unknown cancel reason": dumps(example_json(OrderCancelled) | {"reason": "changed_my_mind"}),
    "dead letter value not base64": dumps(example_json(DeadLetter) | {"value": "not base64!"}),
    "negative dead letter offset": dumps(example_json(DeadLetter) | {"offset": -1}),
    "unknown window kind": dumps(example_json(TopProductsUpdated) | {"window_kind": "daily"}),
}


@pytest.mark.parametrize("data", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_raises_contract_error_and_only_that(data: bytes | str) -> None:
    with pytest.raises(ContractError) as caught:
        decode(data)

    assert type(caught.value) is ContractError
    assert caught.value.__cause__ is not None
    with pytest.raises(ContractError):
        decode_as(data, OrderPlaced)


def test_contract_error_is_a_value_error() -> None:
    assert issubclass(ContractError, ValueError)


def test_error_says_where_the_problem_is() -> None:
    with pytest.raises(ContractError, match=r"\$\.items\[0\]\.quantity"):
        decode(BAD_INPUT["quantity 0"])


def test_decode_as_rejects_another_event_type() -> None:
    with pytest.raises(ContractError, match="expected PaymentAuthorized, got OrderPlaced"):
        decode_as(example_bytes(OrderPlaced), PaymentAuthorized)


def test_decode_as_accepts_a_base_class() -> None:
    assert isinstance(decode_as(example_bytes(OrderPlaced), OrderEvent), OrderPlaced)


# -- forward compatibility -------------------------------------------------------


def test_unknown_fields_are_ignored_at_every_level() -> None:
    data = example_json(OrderPlaced)
    data["coupon"] = {"code": "WINTER", "percent": 10, "nested": [[{"deep": None}]]}
    data["schema_hint"] = "added in a later compatible release"
    data["items"][0]["gift_wrap"] = True

    assert decode(dumps(data)) == example(OrderPlaced)


def test_missing_optional_fields_take_their_defaults() -> None:
    data = example_json(OrderCancelled)
    data.pop("detail")
    data.pop("causation_id")

    event = decode_as(dumps(data), OrderCancelled)

    assert event.detail == ""
    assert event.causation_id is None


# -- reactions and derived ids ---------------------------------------------------


def test_reaction_carries_the_order_and_correlation_and_points_at_its_cause() -> None:
    cause = example(OrderPlaced)
    assert isinstance(cause, OrderPlaced)

    authorized = reaction(
        cause, PaymentAuthorized, user_id="user-123", amount=cause.amount, currency="USD"
    )

    assert authorized.order_id == cause.order_id
    assert authorized.correlation_id == cause.correlation_id
    assert authorized.causation_id == str(cause.event_id)
    assert authorized.event_id == derived_id(cause, "payment.authorized.v1")


def test_reacting_twice_to_one_event_gives_the_same_event_id() -> None:
    cause = placed()
    first = reaction(cause, InventoryReserved, items=(StockLine(product_id="p", quantity=2),))
    again = reaction(cause, InventoryReserved, items=(StockLine(product_id="p", quantity=2),))

    assert first.event_id == again.event_id
    assert msgspec.structs.replace(again, occurred_at=first.occurred_at) == first


def test_reactions_of_different_types_or_causes_get_different_ids() -> None:
    cause, other = placed(), placed()
    declined = reaction(
        cause, PaymentDeclined, user_id="u", amount=Decimal(1), currency="USD", reason="limit"
    )
    authorized = reaction(cause, PaymentAuthorized, user_id="u", amount=Decimal(1), currency="USD")
    elsewhere = reaction(other, PaymentAuthorized, user_id="u", amount=Decimal(1), currency="USD")

    assert len({declined.event_id, authorized.event_id, elsewhere.event_id}) == 3


def test_an_explicit_event_id_wins() -> None:
    chosen = uuid.uuid4()

    completed = reaction(
        placed(), OrderCompleted, event_id=chosen, user_id="u", amount=Decimal(1), currency="USD"
    )

    assert completed.event_id == chosen


def test_derived_id_is_a_stable_uuid5_of_the_cause_id_and_wire_type() -> None:
    cause_id = uuid.UUID("7d3c9a52-1f0e-4b8a-9c61-2e5f4a8b3d10")

    derived = derived_id(cause_id, "payment.authorized.v1")

    # Pinned: changing the namespace would break deduplication across a deploy.
    assert derived == uuid.UUID("8f25415f-c4c9-5da0-8fa0-632188368fa3")
    assert derived.version == 5
    assert derived_id(str(cause_id), "payment.authorized.v1") == derived
    assert derived_id(example(OrderPlaced), "payment.authorized.v1") == derived


# -- keys ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls", [c for c in EVENT_CLASSES if issubclass(c, OrderEvent)], ids=lambda c: c.wire_type()
)
def test_order_events_are_keyed_by_order_id_bytes(cls: type[OrderEvent]) -> None:
    event = example(cls)
    assert isinstance(event, OrderEvent)

    assert key_of(event) == event.order_id.encode("utf-8")


def test_other_events_are_keyed_by_their_natural_key() -> None:
    viewed = example(PageViewed)
    assert isinstance(viewed, PageViewed)
    dead = example(DeadLetter)
    assert isinstance(dead, DeadLetter)

    assert key_of(viewed) == viewed.page.encode()
    assert key_of(example(TopProductsUpdated)) == b"tumbling_1m"
    assert key_of(example(MinuteCountsUpdated)) == b"analytics"
    assert key_of(example(AuditSummary)) == b"auditor:2"
    assert key_of(dead) == dead.key


def test_events_without_a_natural_key_are_keyed_by_event_id() -> None:
    viewed = msgspec.structs.replace(example(PageViewed), page="")
    dead = msgspec.structs.replace(example(DeadLetter), key=None)

    assert key_of(viewed) == str(viewed.event_id).encode()
    assert key_of(dead) == str(dead.event_id).encode()
