"""Unit tests of the `sagactl topics` table (no broker)."""

from __future__ import annotations

from kafka_admin.topics import TopicInfo
from sagactl.commands.topics import render_table


def test_table_shows_partitions_and_key_configs() -> None:
    table = render_table(
        [TopicInfo("orders.v1", 6, 1, {"retention.ms": "604800000", "cleanup.policy": "delete"})]
    )
    header, row = table.splitlines()
    assert header.split()[:4] == ["topic", "partitions", "rf", "retention.ms"]
    assert row.split()[:5] == ["orders.v1", "6", "1", "604800000", "delete"]
