"""Planning an offset reset: every target kind, clamped to what the partition retains."""

from __future__ import annotations

import struct

import pytest
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from kafka_admin.groups import decode_assignment
from kafka_admin.offsets import (
    Position,
    Target,
    decode_commit,
    group_of_record,
    plan_reset,
    render_plan,
)

P = Position("orders.v1", 0, committed=40, earliest=10, latest=100, at_time=55)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (Target("earliest"), 10),
        (Target("latest"), 100),
        (Target("timestamp", 1), 55),
        (Target("offset", 70), 70),
        (Target("offset", 3), 10),  # before the retained range: clamped
        (Target("offset", 500), 100),
        (Target("shift", -5), 35),
        (Target("shift", -100), 10),
        (Target("shift", 100), 100),
    ],
)
def test_targets(target: Target, expected: int) -> None:
    [row] = plan_reset(target, [P])
    assert row.target == expected and row.lag == 100 - expected
    assert row.moved == expected - 40


def test_a_time_after_the_last_message_goes_to_the_end_and_no_commit_shifts_from_earliest() -> None:
    late = Position("t", 0, committed=None, earliest=10, latest=20, at_time=None)
    assert plan_reset(Target("timestamp", 1), [late])[0].target == 20
    [row] = plan_reset(Target("shift", 3), [late])
    assert (row.target, row.moved) == (13, None)


def test_the_table_is_sorted_and_totals_the_lag() -> None:
    rows = plan_reset(
        Target("earliest"),
        [Position("b", 1, 5, 0, 5), Position("b", 0, None, 2, 9), Position("a", 0, 3, 0, 3)],
    )
    assert [(r.topic, r.partition) for r in rows] == [("a", 0), ("b", 0), ("b", 1)]
    lines = render_plan(rows).splitlines()
    assert lines[0].split() == [
        "topic",
        "partition",
        "committed",
        "target",
        "moved",
        "lag",
        "after",
    ]
    assert lines[2].split() == ["b", "0", "-", "2", "-", "7"]
    assert lines[3].split() == ["b", "1", "5", "0", "-5", "5"]
    assert lines[-1].split() == ["total", "15"]


def test_member_assignments_decode_to_topic_partitions() -> None:
    raw = ConsumerProtocolMemberAssignment(0, [("orders.v1", [2, 0]), ("payments.v1", [1])], b"")
    assert decode_assignment(raw.encode()) == (
        ("orders.v1", 0),
        ("orders.v1", 2),
        ("payments.v1", 1),
    )
    assert decode_assignment(b"") == ()


def _short(text: str) -> bytes:
    return struct.pack(">h", len(text)) + text.encode()


def test_an_offset_commit_record_is_decoded_and_group_metadata_is_not() -> None:
    key = struct.pack(">h", 1) + _short("notification") + _short("orders.outcome.v1")
    key += struct.pack(">i", 4)
    value = struct.pack(">h", 3) + struct.pack(">q", 41) + b"rest"
    assert decode_commit(key, value) == ("notification", "orders.outcome.v1", 4, 41)
    assert decode_commit(key, None) == ("notification", "orders.outcome.v1", 4, None)
    metadata = struct.pack(">h", 2) + _short("notification")
    assert decode_commit(metadata, b"\x00") is None
    assert group_of_record(metadata) == ("notification", None, None)
    assert group_of_record(key) == ("notification", "orders.outcome.v1", 4)
    assert group_of_record(b"\x00") is None
