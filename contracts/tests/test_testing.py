"""The test factories and the recording publisher build valid events the codec round-trips."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from contracts import (
    Event,
    OrderCancelled,
    OrderLine,
    PaymentAuthorized,
    Shortage,
    StockLine,
    decode,
    derived_id,
    encode,
)
from contracts import testing as t


def test_an_order_totals_its_lines_and_defaults_to_one_line() -> None:
    order = t.order_placed(("p-a", 2), ("p-b", 1, "4.50"), at=t.T0)
    assert order.items == (
        OrderLine(product_id="p-a", quantity=2, unit_price=Decimal("1.00")),
        OrderLine(product_id="p-b", quantity=1, unit_price=Decimal("4.50")),
    )
    assert (order.amount, order.occurred_at, order.correlation_id) == (
        Decimal("6.50"),
        t.T0,
        "order-1",
    )
    single = t.order_placed(amount="7.00", order_id="o-9", user_id="u-9", currency="USD")
    assert single.items == (OrderLine(product_id="p-1", quantity=1, unit_price=Decimal("7.00")),)
    assert (single.order_id, single.user_id, single.currency) == ("o-9", "u-9", "USD")
    assert t.order_placed(("p-a", 1), amount="5.00").amount == Decimal("5.00")


def test_new_order_ids_are_fresh_and_prefixed() -> None:
    first, second = t.new_order_id("it"), t.new_order_id("it")
    assert first != second and first.startswith("it-") and len(first) == len("it-") + 12


def test_a_reaction_to_an_order_takes_its_ids_user_amount_and_currency() -> None:
    order = t.order_placed(("p-a", 2), user_id="u-2", currency="USD")
    answer = t.payment_authorized(order, at=t.T0 + timedelta(seconds=1))
    assert answer.causation_id == str(order.event_id)
    assert answer.event_id == derived_id(order, PaymentAuthorized.wire_type())
    assert (answer.user_id, answer.amount, answer.currency) == ("u-2", order.amount, "USD")
    assert answer.occurred_at == t.T0 + timedelta(seconds=1)
    assert t.inventory_reserved(order).items == (StockLine(product_id="p-a", quantity=2),)
    assert t.inventory_released(order, ("p-a", 1)).items == (
        StockLine(product_id="p-a", quantity=1),
    )
    assert t.inventory_rejected(order).shortages == (
        Shortage(product_id="p-a", requested=2, available=0),
    )
    assert t.order_cancelled(order).user_id == "u-2"


def test_an_event_about_an_order_id_has_no_cause_and_a_fresh_id() -> None:
    first, second = t.order_completed("o-3"), t.order_completed("o-3")
    assert first.causation_id is None and first.event_id != second.event_id
    assert (first.order_id, first.correlation_id, first.user_id) == ("o-3", "o-3", "user-1")
    assert (first.amount, first.currency) == (Decimal("10.00"), "EUR")
    cancelled = t.order_cancelled("o-3", "out_of_stock", "p-1: 0 of 2 in stock", at=t.T0)
    assert (cancelled.reason, cancelled.detail, cancelled.occurred_at) == (
        "out_of_stock",
        "p-1: 0 of 2 in stock",
        t.T0,
    )
    assert t.payment_refunded("o-3", amount="30.00").amount == Decimal("30.00")
    assert t.payment_declined("o-3").reason == "credit_limit_exceeded"


EVERY_KIND = [
    t.order_placed(),
    t.payment_authorized(t.order_placed()),
    t.payment_declined(),
    t.payment_refunded(),
    t.inventory_reserved(t.order_placed()),
    t.inventory_rejected("o-1", ("p-1", 2, 1)),
    t.inventory_released(t.order_placed()),
    t.order_completed(),
    t.order_cancelled(),
    t.deadline_tick(3, t.T0),
    t.page_viewed("/dashboard/", t.T0),
    t.dead_letter(),
]


@pytest.mark.parametrize("event", EVERY_KIND, ids=lambda e: e.wire_type())
def test_every_factory_builds_an_event_that_round_trips(event: Event) -> None:
    assert decode(encode(event)) == event


async def test_the_recording_publisher_keeps_events_and_flushes_in_order() -> None:
    published = t.RecordingPublisher()
    order = t.order_placed()
    cancelled = t.order_cancelled(order)
    await published(order)
    await published.flush()
    await published(cancelled)
    assert published == [order, t.FLUSH, cancelled]
    assert published.events() == [order, cancelled]
    assert published.of(OrderCancelled) == [cancelled]
