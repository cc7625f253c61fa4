"""Lag counts only what a group consumes and commits; changelogs are restore state."""

from __future__ import annotations

import pytest

from dashboard.lag import is_internal, partition_lag


@pytest.mark.parametrize(
    "topic",
    [
        "saga-sagas-changelog",
        "analytics-windows-changelog",
        "saga-__assignor-__leader",
        "__consumer_offsets",
        "app-thing-repartition",
    ],
)
def test_changelogs_and_other_internal_topics_are_not_consumed_topics(topic: str) -> None:
    assert is_internal(topic)
    assert partition_lag(topic, None, 551) is None
    assert partition_lag(topic, 3, 551) is None


@pytest.mark.parametrize(
    "topic",
    ["orders.v1", "orders.outcome.v1", "orders.retry.1s.v1", "inventory.stock.v1", "orders.dlq.v1"],
)
def test_the_saga_topics_are_consumed(topic: str) -> None:
    assert not is_internal(topic)


def test_lag_is_end_minus_committed_and_everything_when_nothing_was_committed() -> None:
    assert partition_lag("orders.v1", 7, 10) == 3
    assert partition_lag("orders.v1", 10, 10) == 0
    assert partition_lag("orders.v1", None, 5) == 5
    assert partition_lag("orders.v1", -1, 5) == 5
    assert partition_lag("orders.v1", 12, 10) == 0  # an end read before the commit
    assert partition_lag("orders.v1", 7, None) is None
