"""The contract's bounds are the read model's column bounds: a value that decodes is a
value the projector can store. Walks every event field the projector writes to a column
and compares its msgspec constraints with the Django field; also every text field of
every event rejects NUL (which no PostgreSQL text or jsonb holds)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from django.db import connection, models
from django.db.backends.base.operations import BaseDatabaseOperations

import contracts as c
from contracts.events import EVENT_TYPES, MONEY_DIGITS, OrderEvent
from gateway.analytics.models import WindowSnapshot
from gateway.catalog.models import Product
from gateway.operations.models import DeadLetterRecord
from gateway.orders.models import Order, TimelineEntry

ORDER_EVENTS = [t for t in EVENT_TYPES if issubclass(t, OrderEvent)]

#: (event class, field) -> the columns the projector writes it to.
WRITTEN: dict[tuple[type, str], list[tuple[type[models.Model], str]]] = {
    (c.DeadLetter, "original_topic"): [(DeadLetterRecord, "original_topic")],
    (c.DeadLetter, "partition"): [(DeadLetterRecord, "original_partition")],
    (c.DeadLetter, "offset"): [(DeadLetterRecord, "original_offset")],
    (c.DeadLetter, "consumer_group"): [(DeadLetterRecord, "consumer_group")],
    (c.DeadLetter, "error_type"): [(DeadLetterRecord, "error_type")],
    (c.DeadLetter, "attempts"): [(DeadLetterRecord, "attempts")],
    (c.StockLevel, "product_id"): [(Product, "product_id")],
    (c.StockLevel, "name"): [(Product, "name")],
    (c.StockLevel, "price"): [(Product, "price")],
    (c.StockLevel, "available"): [(Product, "available")],
    (c.StockLevel, "reserved"): [(Product, "reserved")],
    (c.StockLevel, "sold"): [(Product, "sold")],
    (c.TopProductsUpdated, "late_events"): [(WindowSnapshot, "late_events")],
    **{(t, "order_id"): [(Order, "order_id"), (TimelineEntry, "order_id")] for t in ORDER_EVENTS},
    **{(t, "causation_id"): [(TimelineEntry, "causation_id")] for t in ORDER_EVENTS},
    # a placeholder order takes these from whichever event comes first
    **{
        (t, name): [(Order, name)]
        for t in ORDER_EVENTS
        for name in ("user_id", "currency", "amount")
        if name in t.__struct_fields__
    },
}


def constraint(cls: type, name: str) -> msgspec.inspect.Type:
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    [f] = [f for f in info.fields if f.name == name]
    kind = f.type
    if isinstance(kind, msgspec.inspect.Metadata):  # Amount: a Decimal with its schema
        kind = kind.type
    if isinstance(kind, msgspec.inspect.UnionType):  # Ident | None
        [kind] = [t for t in kind.types if not isinstance(t, msgspec.inspect.NoneType)]
    return kind


def int_range(field: models.Field[Any, Any]) -> tuple[int, int]:
    ranges = BaseDatabaseOperations.integer_field_ranges
    return ranges[field.get_internal_type()]


@pytest.mark.parametrize(
    ("event", "name"), list(WRITTEN), ids=[f"{e.__name__}.{n}" for e, n in WRITTEN]
)
def test_the_contract_bound_is_the_column_bound(event: type, name: str) -> None:
    kind = constraint(event, name)
    for model, column in WRITTEN[(event, name)]:
        field = model._meta.get_field(column)
        where = f"{event.__name__}.{name} vs {model.__name__}.{column}"
        if isinstance(field, models.DecimalField):
            assert isinstance(kind, msgspec.inspect.DecimalType), where
            assert field.max_digits is not None and field.decimal_places is not None
            digits = field.max_digits - field.decimal_places
            # the amounts of orders are the tightest column: exactly it; prices fit
            assert digits == MONEY_DIGITS if model is Order else digits >= MONEY_DIGITS, where
        elif isinstance(field, models.IntegerField):
            assert isinstance(kind, msgspec.inspect.IntType), where
            low, high = int_range(field)
            assert (kind.le, max(kind.ge or 0, low)) == (high, kind.ge or 0), where
            assert kind.ge is not None and kind.ge >= low, where
        elif isinstance(field, models.CharField):
            if isinstance(kind, msgspec.inspect.LiteralType):
                assert max(len(v) for v in kind.values) <= field.max_length, where
            else:
                assert isinstance(kind, msgspec.inspect.StrType), where
                assert kind.max_length == field.max_length, where
        else:
            pytest.fail(f"no rule for {where}")


def text_fields(cls: type, seen: set[type]) -> list[tuple[str, msgspec.inspect.Type]]:
    """Every ``str`` constraint reachable from ``cls``, named by its path."""
    out: list[tuple[str, msgspec.inspect.Type]] = []

    def walk(path: str, kind: msgspec.inspect.Type) -> None:
        if isinstance(kind, msgspec.inspect.StrType):
            out.append((path, kind))
        elif isinstance(kind, msgspec.inspect.UnionType):
            for t in kind.types:
                walk(path, t)
        elif isinstance(kind, msgspec.inspect.TupleType):
            for i, t in enumerate(kind.item_types):
                walk(f"{path}[{i}]", t)
        elif isinstance(kind, msgspec.inspect.VarTupleType | msgspec.inspect.ListType):
            walk(f"{path}[]", kind.item_type)
        elif isinstance(kind, msgspec.inspect.StructType) and kind.cls not in seen:
            seen.add(kind.cls)
            for f in kind.fields:
                walk(f"{kind.cls.__name__}.{f.name}", f.type)
            seen.discard(kind.cls)

    walk(cls.__name__, msgspec.inspect.type_info(cls))
    return out


#: Text that is never stored in a text column or jsonb (only in the dead letter's raw
#: bytes): the original headers' names, a stack trace, the topics of a failure history.
NOT_STORED = {"DeadLetter.headers[][0]", "DeadLetter.error_stack", "Attempt.topic"}


@pytest.mark.parametrize("event", EVENT_TYPES, ids=[t.__name__ for t in EVENT_TYPES])
def test_no_text_of_any_event_may_hold_a_nul(event: type) -> None:
    for path, kind in text_fields(event, set()):
        if path in NOT_STORED:
            continue
        assert isinstance(kind, msgspec.inspect.StrType)
        assert kind.pattern is not None, path
        assert not re.search(kind.pattern, "o\x00k"), path


def test_a_nul_is_rejected_when_decoded_so_it_is_dead_lettered() -> None:
    cancelled = c.reaction(
        c.OrderPlaced(order_id="o-1", correlation_id="o-1", user_id="u", currency="USD",
                      amount=Decimal(1), items=(c.OrderLine(product_id="p", quantity=1,
                                                            unit_price=Decimal(1)),)),
        c.OrderCancelled, user_id="u", reason="timeout", detail="a\x00b",
    )  # fmt: skip
    with pytest.raises(c.ContractError, match="detail"):
        c.decode(c.encode(cancelled))


def test_the_columns_compared_exist_on_this_database() -> None:
    assert connection.vendor in {"sqlite", "postgresql"}
