"""Pure order rules: totals to the cent and request fingerprints."""

from datetime import UTC, datetime
from decimal import Decimal

from contracts import OrderLine
from gateway.orders.domain import (
    NewOrder,
    amount_mismatch,
    fingerprint,
    from_placed,
    lines_total,
    order_placed,
)

LINES = (OrderLine(product_id="prod-001", quantity=2, unit_price=Decimal("49.995")),)
ORDER = NewOrder("o-1", "user-123", "USD", Decimal("99.99"), LINES)


def test_total_is_rounded_half_up_to_the_cent():
    assert lines_total(LINES) == Decimal("99.99")
    assert lines_total(
        (OrderLine(product_id="p", quantity=1, unit_price=Decimal("0.005")),)
    ) == Decimal("0.01")


def test_amount_must_match_to_the_cent():
    assert amount_mismatch(Decimal("99.99"), LINES) is None
    assert "99.99" in (amount_mismatch(Decimal("100.00"), LINES) or "")


def test_fingerprint_survives_a_round_trip_through_kafka():
    """A read model rebuilt from OrderPlaced still recognises a repeated request."""
    event = order_placed(ORDER, at=datetime.now(UTC))

    assert fingerprint(from_placed(event)) == fingerprint(ORDER)


def test_fingerprint_tells_different_orders_apart():
    other = NewOrder("o-1", "user-999", "USD", Decimal("99.99"), LINES)

    assert fingerprint(other) != fingerprint(ORDER)
    assert fingerprint(ORDER, with_id=False) != fingerprint(ORDER)
