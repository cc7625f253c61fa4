"""A record the database cannot hold does not hold up its batch: ``project_isolated``
writes the others and returns it (the projector dead-letters it)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from django.db import OperationalError, connection

import contracts as c
from gateway.catalog.models import Product
from gateway.consumed import Seen
from gateway.operations.models import DeadLetterRecord
from gateway.operations.tests.factories import dead_letter
from gateway.orders.models import Order, TimelineEntry
from gateway.projector import projection
from gateway.projector.failure_notes import dead_letter_note
from gateway.projector.projection import Unit, project_isolated

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PLACED = c.OrderPlaced(
    order_id="o-1", correlation_id="o-1", occurred_at=T0, user_id="u-1", currency="USD",
    amount=Decimal("10.00"),
    items=(c.OrderLine(product_id="p-1", quantity=1, unit_price=Decimal("10.00")),),
)  # fmt: skip
LEVEL = c.StockLevel(correlation_id="p-1", occurred_at=T0, product_id="p-1", name="Beans",
                     price=Decimal("1.00"), available=3, reserved=0, sold=0)  # fmt: skip
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite holds these (no lengths, NUL allowed)"
)

# Built in code, the contract's bounds are not checked (only decoding checks them): these
# are what a producer that bypassed the contract could send.
BAD: dict[str, Any] = {
    "an offset beyond bigint": pytest.param(lambda: dead_letter(offset=2**70)),
    "a 300-character consumer group": pytest.param(
        lambda: dead_letter(consumer_group="g" * 300), marks=postgres_only
    ),
    "a 300-character error type": pytest.param(
        lambda: dead_letter(error_type="E" * 300), marks=postgres_only
    ),
    "a NUL in a dead letter's message": pytest.param(
        lambda: dead_letter(error_message="a\x00b"), marks=postgres_only
    ),
    "a NUL in an order event (timeline jsonb)": pytest.param(
        lambda: c.reaction(
            PLACED, c.OrderCancelled, user_id="u-1", reason="timeout", detail="x\x00y"
        ),
        marks=postgres_only,
    ),
    "an amount beyond numeric(14, 2)": pytest.param(
        lambda: huge_amount(),
        marks=postgres_only,  # a placeholder order takes its amount
    ),
    "stock beyond integer": pytest.param(
        lambda: c.StockLevel(
            correlation_id="p-2",
            product_id="p-2",
            name="Big",
            available=2**40,
            price=Decimal(1),
            reserved=0,
            sold=0,
        ),
        marks=postgres_only,
    ),
}


def huge_amount() -> c.PaymentAuthorized:
    """Even a struct built in code checks its money; only forcing the field bypasses it."""
    event = c.PaymentAuthorized(
        order_id="o-big", correlation_id="o-big", user_id="u-1", amount=Decimal(1), currency="USD"
    )
    msgspec.structs.force_setattr(event, "amount", Decimal(10) ** 13)
    return event


def unit(event: Any, offset: int, topic: str = "t") -> Unit:
    seen = Seen(topic, 0, offset, event)
    if isinstance(event, c.DeadLetter):
        note = dead_letter_note(topic, 0, offset, event)
        return Unit(seen, (note,) if note else ())
    return Unit(seen)


def picture() -> dict[str, Any]:
    return {
        "orders": list(Order.objects.order_by("order_id").values()),
        "timeline": list(TimelineEntry.objects.order_by("id").values()),
        "products": list(Product.objects.values()),
        "dead": list(DeadLetterRecord.objects.order_by("id").values()),
    }


@pytest.mark.parametrize("make_bad", BAD.values(), ids=BAD.keys())
def test_the_others_are_written_and_the_bad_record_returned(make_bad: Any) -> None:
    good_letter = dead_letter(key=b"o-1")
    bad = unit(make_bad(), 2)
    units = [unit(PLACED, 0), unit(good_letter, 1, "orders.dlq.v1"), bad, unit(LEVEL, 3)]

    failed = project_isolated(units)

    assert [u for u, _ in failed] == [bad]
    assert isinstance(failed[0][1], projection.RECORD_ERRORS)
    assert Order.objects.get(order_id="o-1").items[0]["productId"] == "p-1"
    assert list(Product.objects.values_list("product_id", flat=True)) == ["p-1"]
    assert [r.event_id for r in DeadLetterRecord.objects.all()] == [good_letter.event_id]
    types = sorted(TimelineEntry.objects.values_list("event_type", flat=True))
    assert types == ["dlq.recorded", "order.placed.v1"]

    before = picture()
    assert [u for u, _ in project_isolated(units)] == [bad]  # redelivered: nothing changes
    after = picture()
    for rows in (before["orders"], after["orders"]):
        for row in rows:
            row.pop("updated_at")
    assert after == before


def test_a_batch_that_fits_is_written_in_one_go(django_assert_max_num_queries: Any) -> None:
    units = [unit(PLACED, 0), unit(LEVEL, 1), unit(dead_letter(key=b"o-1"), 2, "orders.dlq.v1")]
    with django_assert_max_num_queries(8):  # savepoint, read, 4 writes, release
        assert project_isolated(units) == []
    assert TimelineEntry.objects.count() == 2


def test_several_bad_records_are_all_found() -> None:
    bad = [unit(dead_letter(offset=2**70), n) for n in (1, 4, 5)]
    units = [unit(PLACED, 0), bad[0], unit(LEVEL, 2), unit(dead_letter(), 3), *bad[1:]]
    assert [u for u, _ in project_isolated(units)] == bad
    assert (Order.objects.count(), Product.objects.count(), DeadLetterRecord.objects.count()) == (
        1,
        1,
        1,
    )


def test_a_database_that_is_down_is_no_record_s_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: Any) -> int:
        raise OperationalError("connection refused")

    monkeypatch.setattr(projection, "project_orders", down)
    with pytest.raises(OperationalError):
        project_isolated([unit(PLACED, 0)])
