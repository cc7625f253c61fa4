"""Money: every Decimal field of every struct is a finite amount, not below 0, below 10**15."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from contracts import EVENT_TYPES, OrderLine, OrderPlaced, decode_as, encode
from contracts.events import MONEY_DIGITS
from contracts.tests.support import example, structs_in


def _is_money(annotation: Any) -> bool:
    return Decimal in (annotation, *getattr(annotation, "__args__", ()))


#: (struct, money field) for every money field reachable from the examples.
MONEY_FIELDS = sorted(
    {
        (type(struct), field.name): struct
        for cls in EVENT_TYPES
        for struct in structs_in(example(cls))
        for field in msgspec.structs.fields(struct)
        if _is_money(field.type)
    }.items(),
    key=lambda item: (item[0][0].__name__, item[0][1]),
)
IDS = [f"{cls.__name__}.{name}" for (cls, name), _ in MONEY_FIELDS]

INVALID = [
    Decimal("-0.01"),
    Decimal("-1E-30"),
    Decimal("NaN"),
    Decimal("sNaN"),
    Decimal("Infinity"),
    Decimal("-Infinity"),
    Decimal(10) ** MONEY_DIGITS,
    Decimal("1E+999999999"),
    -1,
    -0.5,
    float("nan"),
    float("inf"),
]
VALID = [
    Decimal("0"),
    Decimal("0.00"),
    Decimal("0E+30"),
    Decimal("-0"),
    Decimal("-0.00"),
    Decimal("49.995"),
    Decimal("1E-30"),
    Decimal(10) ** MONEY_DIGITS - Decimal("0.01"),
    0,
    12,
    0.5,
]


def test_every_money_field_is_found() -> None:
    assert {f"{cls.__name__}.{name}" for (cls, name), _ in MONEY_FIELDS} == {
        "OrderLine.unit_price",
        "OrderPlaced.amount",
        "PaymentAuthorized.amount",
        "PaymentDeclined.amount",
        "PaymentRefunded.amount",
        "OrderCompleted.amount",
        "ProductStat.revenue",
        "StockLevel.price",
    }


@pytest.mark.parametrize(("key", "struct"), MONEY_FIELDS, ids=IDS)
@pytest.mark.parametrize("amount", INVALID, ids=repr)
def test_invalid_amounts_are_rejected_when_building_a_struct(
    key: tuple[type[msgspec.Struct], str], struct: msgspec.Struct, amount: object
) -> None:
    cls, name = key

    with pytest.raises(ValueError, match=f"`{name}` must be a non-negative amount"):
        cls(**(msgspec.structs.asdict(struct) | {name: amount}))


@pytest.mark.parametrize(("key", "struct"), MONEY_FIELDS, ids=IDS)
@pytest.mark.parametrize("amount", VALID, ids=repr)
def test_valid_amounts_are_accepted(
    key: tuple[type[msgspec.Struct], str], struct: msgspec.Struct, amount: object
) -> None:
    cls, name = key

    assert getattr(cls(**(msgspec.structs.asdict(struct) | {name: amount})), name) == amount


def test_amounts_keep_their_exact_decimal_value_on_the_wire() -> None:
    line = OrderLine(product_id="p", quantity=3, unit_price=Decimal("0.1"))
    event = msgspec.structs.replace(example(OrderPlaced), items=(line,), amount=Decimal("0.30"))

    back = decode_as(encode(event), OrderPlaced)

    assert back == event
    assert str(back.amount) == "0.30"
    assert str(back.items[0].unit_price) == "0.1"


def test_replace_checks_money_too() -> None:
    with pytest.raises(ValueError, match="amount"):
        msgspec.structs.replace(example(OrderPlaced), amount=Decimal("-1"))
