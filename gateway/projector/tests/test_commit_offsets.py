"""After a batch the projector commits the partitions it read, and only those."""

from __future__ import annotations

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from gateway.projector.projector import processed


def record(topic: str, partition: int, offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic, partition, offset, 0, 0, b"k", b"v", None, 1, 1, ())


def test_each_partition_read_commits_past_its_last_record_and_no_other() -> None:
    polled = {
        TopicPartition("orders.v1", 2): [record("orders.v1", 2, 7), record("orders.v1", 2, 8)],
        TopicPartition("payments.v1", 0): [record("payments.v1", 0, 41)],
        TopicPartition("inventory.v1", 5): [],
    }
    assert processed(polled) == {
        TopicPartition("orders.v1", 2): 9,
        TopicPartition("payments.v1", 0): 42,
    }


def test_a_batch_with_nothing_read_commits_nothing() -> None:
    assert processed({}) == {}
