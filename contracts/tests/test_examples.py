"""The committed examples: the backward-compatibility test. They must keep decoding forever.

Never edit an example to make a test pass: a v1 message that stops decoding is a
breaking change, which needs a new ``.v2`` type instead.
"""

from __future__ import annotations

import inspect
import json
import uuid
from decimal import Decimal

import msgspec
import pytest

import contracts.events
from contracts import EVENT_TYPES, Event, OrderLine, OrderPlaced, decode, decode_as, encode
from contracts.tests.jsonschema_lite import validate
from contracts.tests.support import (
    EVENT_CLASSES,
    EVENT_IDS,
    EXAMPLE_DIR,
    SCHEMA_DIR,
    example,
    example_bytes,
    structs_in,
)


def test_there_is_one_example_and_one_schema_per_event_type() -> None:
    expected = {f"{cls.wire_type()}.json" for cls in EVENT_TYPES}
    assert {p.name for p in EXAMPLE_DIR.glob("*.json")} == expected
    assert {p.name for p in SCHEMA_DIR.glob("*.json")} == expected


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=EVENT_IDS)
def test_example_decodes_to_its_class(cls: type[Event]) -> None:
    event = decode(example_bytes(cls))

    assert type(event) is cls
    assert decode_as(example_bytes(cls), cls) == event
    assert json.loads(example_bytes(cls))["type"] == cls.wire_type()


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=EVENT_IDS)
def test_example_matches_its_json_schema(cls: type[Event]) -> None:
    schema = json.loads((SCHEMA_DIR / f"{cls.wire_type()}.json").read_text(encoding="utf-8"))

    validate(json.loads(example_bytes(cls)), schema)


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=EVENT_IDS)
def test_example_survives_a_round_trip(cls: type[Event]) -> None:
    event = example(cls)

    assert decode(encode(event)) == event


def test_order_placed_example_is_the_documented_order() -> None:
    placed = decode_as(example_bytes(OrderPlaced), OrderPlaced)

    assert placed.order_id == "550e8400-e29b-41d4-a716-446655440000"
    assert placed.correlation_id == placed.order_id
    assert placed.causation_id is None
    assert placed.user_id == "user-123"
    assert placed.currency == "USD"
    assert placed.amount == Decimal("99.99")
    assert placed.items == (
        OrderLine(product_id="prod-001", quantity=2, unit_price=Decimal("49.995")),
    )
    assert placed.occurred_at.utcoffset() is not None
    assert isinstance(placed.event_id, uuid.UUID)


def test_examples_use_every_struct_of_the_contracts() -> None:
    used = {type(s) for cls in EVENT_TYPES for s in structs_in(example(cls))}
    defined = {
        obj
        for _, obj in inspect.getmembers(contracts.events, inspect.isclass)
        if issubclass(obj, msgspec.Struct)
        and obj.__module__ == contracts.events.__name__
        and obj not in (Event, contracts.events.OrderEvent)  # abstract bases
    }

    assert defined <= used, f"no example uses {sorted(c.__name__ for c in defined - used)}"
