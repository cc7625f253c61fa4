"""Unit tests of topic planning (no broker)."""

from __future__ import annotations

from contracts.topics import ALL_TOPICS, ORDERS, PAYMENTS, TopicSpec
from kafka_admin.topics import Mismatch, PartitionMismatch, plan_topics


def test_everything_is_created_on_an_empty_broker() -> None:
    to_create, mismatches = plan_topics(ALL_TOPICS, existing={})
    assert [t.name for t in to_create] == [t.name for t in ALL_TOPICS]
    assert to_create[0].configs == ORDERS.configs
    assert mismatches == []


def test_partitions_override_every_spec() -> None:
    to_create, _ = plan_topics([ORDERS, TopicSpec("x", partitions=1)], existing={}, partitions=3)
    assert {t.partitions for t in to_create} == {3}


def test_existing_topics_are_left_alone_and_wrong_sizes_reported() -> None:
    to_create, mismatches = plan_topics(
        [ORDERS, PAYMENTS, TopicSpec("other.v1")],
        existing={"orders.v1": 6, "payments.v1": 3},
    )
    assert [t.name for t in to_create] == ["other.v1"]
    assert mismatches == [Mismatch("payments.v1", actual=3, wanted=6)]


def test_partition_mismatch_message_names_topic_counts_and_a_way_out() -> None:
    message = str(PartitionMismatch([Mismatch("payments.v1", 3, 6)]))
    assert "payments.v1: has 3 partitions, wanted 6" in message
    assert "TOPIC_PARTITIONS" in message
