"""``harness.evidence``: which orders violations name, and offset commits decoded."""

from __future__ import annotations

import struct

from harness.evidence import decode_commit, violating_orders


def _short(text: str) -> bytes:
    return struct.pack(">h", len(text)) + text.encode()


def test_violating_orders_are_the_ids_before_the_colon_without_products() -> None:
    violations = {
        "lost": ["chaos-1"],
        "wrong_notices": ["chaos-2: 0 notices", "chaos-1: 2 outcomes"],
        "leaked_reservations": ["prod-003: 2 units still reserved", "chaos-3: reserved twice"],
        "oversold": ["prod-001: sold 5 of 4"],
        "stuck": [],
    }
    assert violating_orders(violations) == ["chaos-1", "chaos-2", "chaos-3"]


def test_an_offset_commit_record_is_decoded_and_group_metadata_is_not() -> None:
    key = struct.pack(">h", 1) + _short("notification") + _short("orders.outcome.v1")
    key += struct.pack(">i", 4)
    value = struct.pack(">h", 3) + struct.pack(">q", 41) + b"rest"
    assert decode_commit(key, value) == ("notification", "orders.outcome.v1", 4, 41)
    assert decode_commit(key, None) == ("notification", "orders.outcome.v1", 4, None)
    metadata = struct.pack(">h", 2) + _short("notification")
    assert decode_commit(metadata, b"\x00") is None
