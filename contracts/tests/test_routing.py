"""Routing: every event type has a project topic, as the architecture's topic table says."""

from __future__ import annotations

import pytest

from contracts import EVENT_TYPES, TOPIC_OF, Event
from contracts.tests.support import EVENT_CLASSES, EVENT_IDS
from contracts.topics import (
    ALL_TOPICS,
    DEFAULT_PARTITIONS,
    RETRY_TIERS,
    SAGA_TICKS,
    SAGA_TOPICS,
    by_name,
)

#: The topic table of ARCHITECTURE.md, by wire type.
ARCHITECTURE = {
    "orders.v1": {"order.placed.v1"},
    "payments.v1": {"payment.authorized.v1", "payment.declined.v1", "payment.refunded.v1"},
    "inventory.v1": {"inventory.reserved.v1", "inventory.rejected.v1", "inventory.released.v1"},
    "orders.outcome.v1": {"order.completed.v1", "order.cancelled.v1"},
    "orders.dlq.v1": {"dlq.record.v1"},
    "analytics.pageviews.v1": {"page.viewed.v1"},
    "analytics.snapshots.v1": {"analytics.top_products.v1"},
    # Beyond the architecture brief's table: the saga issue adds these three.
    "notifications.v1": {"notification.sent.v1"},
    "inventory.stock.v1": {"inventory.stock_level.v1"},
    "saga.ticks.v1": {"saga.tick.v1"},
    # The analytics issue: per-partition counts on their way to the global top N.
    "analytics.minutes.v1": {"analytics.minute_counts.v1"},
    # The dashboard issue (14): the live invariant auditor's verdict per partition.
    "audit.v1": {"audit.summary.v1"},
}


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=EVENT_IDS)
def test_every_event_type_goes_to_a_project_topic(cls: type[Event]) -> None:
    topic = TOPIC_OF[cls]

    assert topic in ALL_TOPICS
    assert by_name(topic.name) is topic
    assert cls.wire_type() in ARCHITECTURE[topic.name]


def test_routing_matches_the_architecture_table() -> None:
    routed: dict[str, set[str]] = {}
    for cls, topic in TOPIC_OF.items():
        routed.setdefault(topic.name, set()).add(cls.wire_type())

    assert routed == ARCHITECTURE
    assert set(TOPIC_OF) == set(EVENT_TYPES)


def test_everything_keyed_by_order_id_is_co_partitioned() -> None:
    co_partitioned = (*SAGA_TOPICS, SAGA_TICKS, *RETRY_TIERS)

    assert {t.partitions for t in co_partitioned} == {DEFAULT_PARTITIONS}


def test_topic_names_are_unique_and_versioned() -> None:
    names = [t.name for t in ALL_TOPICS]

    assert len(names) == len(set(names))
    assert all(name.endswith(".v1") for name in names)


def test_unknown_topic_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"orders\.v1"):
        by_name("orders.v9")
