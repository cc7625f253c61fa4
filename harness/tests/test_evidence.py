"""``harness.evidence``: which orders violations name."""

from __future__ import annotations

from harness.evidence import violating_orders


def test_violating_orders_are_the_ids_before_the_colon_without_products() -> None:
    violations = {
        "lost": ["chaos-1"],
        "wrong_notices": ["chaos-2: 0 notices", "chaos-1: 2 outcomes"],
        "leaked_reservations": ["prod-003: 2 units still reserved", "chaos-3: reserved twice"],
        "oversold": ["prod-001: sold 5 of 4"],
        "stuck": [],
    }
    assert violating_orders(violations) == ["chaos-1", "chaos-2", "chaos-3"]
