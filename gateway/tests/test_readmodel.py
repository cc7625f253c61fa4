"""The read model's fold converges whatever the order or duplication of events."""

from __future__ import annotations

import itertools
from decimal import Decimal
from functools import reduce

from hypothesis import given
from hypothesis import strategies as st

import contracts as c
from gateway.orders.readmodel import OrderView, evolve

PLACED = c.OrderPlaced(
    order_id="o-1",
    correlation_id="o-1",
    user_id="u-1",
    currency="USD",
    amount=Decimal("10.00"),
    items=(c.OrderLine(product_id="p-1", quantity=1, unit_price=Decimal("10.00")),),
)
AUTHORIZED = c.reaction(
    PLACED, c.PaymentAuthorized, user_id="u-1", amount=Decimal(10), currency="USD"
)
RESERVED = c.reaction(
    PLACED, c.InventoryReserved, items=(c.StockLine(product_id="p-1", quantity=1),)
)
CANCELLED = c.reaction(PLACED, c.OrderCancelled, user_id="u-1", reason="timeout")
COMPLETED = c.reaction(PLACED, c.OrderCompleted, user_id="u-1", amount=Decimal(10), currency="USD")
REFUNDED = c.reaction(
    PLACED, c.PaymentRefunded, user_id="u-1", amount=Decimal(10), currency="USD", reason="timeout"
)
RELEASED = c.reaction(
    PLACED, c.InventoryReleased, items=(c.StockLine(product_id="p-1", quantity=1),)
)


def fold(events):
    return reduce(evolve, events, OrderView())


def test_happy_path():
    view = fold([PLACED, AUTHORIZED, RESERVED, COMPLETED])

    assert view.status == "COMPLETED"
    assert view.payment_status == "AUTHORIZED"
    assert view.inventory_status == "RESERVED"


def test_compensated_cancellation_in_every_order_gives_the_same_view():
    events = [PLACED, AUTHORIZED, RESERVED, CANCELLED, REFUNDED, RELEASED]
    views = {fold(p) for p in itertools.permutations(events)}

    assert views == {
        OrderView(
            status="CANCELLED",
            cancel_reason="timeout",
            payment_status="REFUNDED",
            payment_detail="refunded 10 USD",
            inventory_status="RELEASED",
            inventory_detail="p-1 x1",
        )
    }


def test_a_cancelled_order_is_never_resurrected_by_a_late_completion():
    assert fold([CANCELLED, COMPLETED]).status == "CANCELLED"


@given(st.lists(st.sampled_from([PLACED, AUTHORIZED, RESERVED, COMPLETED, REFUNDED]), max_size=12))
def test_duplicates_and_reordering_do_not_change_the_result(events):
    assert fold(events) == fold(sorted(set(events), key=lambda e: e.wire_type()))
