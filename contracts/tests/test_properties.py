"""Properties: encode then decode is the identity; no input makes decode fail otherwise."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, timedelta, timezone
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from contracts import ContractError, OrderLine, OrderPlaced, decode, encode
from contracts.events import MONEY_DIGITS
from contracts.schemas import schema_of
from contracts.tests.jsonschema_lite import validate
from contracts.tests.support import example_bytes

SCHEMA = schema_of(OrderPlaced)

idents = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}", fullmatch=True)
money = st.decimals(
    min_value=0,
    max_value=Decimal(10) ** MONEY_DIGITS - 1,
    allow_nan=False,
    allow_infinity=False,
)
# RFC 3339 offsets have minute precision: whole-minute offsets round-trip exactly.
offsets = st.just(UTC) | st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
aware_datetimes = st.datetimes(timezones=offsets)
lines = st.builds(
    OrderLine,
    product_id=idents,
    quantity=st.integers(1, 10_000),
    unit_price=money,
)
orders = st.builds(
    OrderPlaced,
    event_id=st.uuids(),
    occurred_at=aware_datetimes,
    correlation_id=idents,
    causation_id=st.none() | idents,
    order_id=idents,
    user_id=idents,
    currency=st.from_regex(r"[A-Z]{3}", fullmatch=True),
    amount=money,
    items=st.lists(lines, min_size=1, max_size=100).map(tuple),
)


@given(orders)
def test_decode_of_encode_is_the_identity(order: OrderPlaced) -> None:
    wire = encode(order)
    back = decode(wire)

    assert type(back) is OrderPlaced
    assert back == order
    assert encode(back) == wire


@given(orders)
def test_what_encode_writes_matches_the_json_schema(order: OrderPlaced) -> None:
    validate(json.loads(encode(order)), SCHEMA)


@given(st.binary(max_size=512))
def test_arbitrary_bytes_decode_or_raise_contract_error(data: bytes) -> None:
    with contextlib.suppress(ContractError):
        decode(data)


@given(st.data())
def test_corrupted_messages_decode_or_raise_contract_error(data: st.DataObject) -> None:
    wire = bytearray(example_bytes(OrderPlaced))
    for _ in range(data.draw(st.integers(1, 8))):
        wire[data.draw(st.integers(0, len(wire) - 1))] = data.draw(st.integers(0, 255))
    with contextlib.suppress(ContractError):
        decode(bytes(wire))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


FIELD_NAMES = sorted(json.loads(example_bytes(OrderPlaced)))


@given(st.dictionaries(st.sampled_from(FIELD_NAMES), json_values))
def test_any_json_with_the_event_fields_decodes_or_raises_contract_error(
    fields: dict[str, object],
) -> None:
    with contextlib.suppress(ContractError):
        decode(json.dumps({"type": "order.placed.v1", **fields}))
