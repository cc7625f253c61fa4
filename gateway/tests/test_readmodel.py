"""The read model's fold converges whatever the order or duplication of events."""

from __future__ import annotations

import itertools
from functools import reduce

from hypothesis import given
from hypothesis import strategies as st

from contracts import testing as t
from gateway.orders.readmodel import OrderView, evolve

PLACED = t.order_placed(order_id="o-1", user_id="u-1", currency="USD")
AUTHORIZED = t.payment_authorized(PLACED, amount=10)
RESERVED = t.inventory_reserved(PLACED)
CANCELLED = t.order_cancelled(PLACED)
COMPLETED = t.order_completed(PLACED, amount=10)
REFUNDED = t.payment_refunded(PLACED, "timeout", amount=10)
RELEASED = t.inventory_released(PLACED)


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
