"""``ExpiryIndex``: which entries of a partition are due, at what cost."""

from __future__ import annotations

from streaming.expiry import ExpiryIndex, default_partition


def test_due_keys_are_handed_out_once_per_partition() -> None:
    index = ExpiryIndex(every=0)
    index.rebuild([(0, b"a", 10.0), (0, b"b", 20.0), (1, b"c", 5.0)])
    assert index.due(0, 15.0) == [b"a"]
    assert index.due(0, 15.0) == []
    assert index.due(1, 15.0) == [b"c"]
    assert len(index) == 1


def test_a_key_written_twice_is_handed_out_at_both_times() -> None:
    # the caller checks the record: at 20 it has not expired, and is not deleted
    index = ExpiryIndex(every=0)
    index.note(0, b"a", 10.0)
    index.note(0, b"a", 30.0)
    assert index.due(0, 20.0) == [b"a"]
    assert index.due(0, 29.0) == []
    assert index.due(0, 30.0) == [b"a"]


def test_expiries_are_rounded_up_to_the_second() -> None:
    index = ExpiryIndex(every=0)
    index.note(0, b"a", 10.2)
    assert index.due(0, 10.5) == []
    assert index.due(0, 11.0) == [b"a"]


def test_a_partition_is_swept_at_most_every_so_often_and_in_bounded_batches() -> None:
    index = ExpiryIndex(every=1.0, limit=2)
    for key in (b"a", b"b", b"c"):
        index.note(0, key, 0.0)
    assert len(index.due(0, 100.0)) == 2
    assert index.due(0, 100.5) == []
    assert len(index.due(0, 101.0)) == 1


def test_clear_forgets_everything_until_the_next_rebuild() -> None:
    index = ExpiryIndex()
    index.rebuild([(0, b"a", 0.0)])
    assert index.built
    index.clear()
    assert not index.built
    assert len(index) == 0


def test_the_default_partitioner_matches_kafka_clients() -> None:
    # murmur2 as in the Java client and aiokafka: pinned so a change is noticed
    assert [default_partition(k, 6) for k in (b"order-1", b"order-2", b"a")] == [4, 3, 4]
    assert all(0 <= default_partition(f"o-{i}".encode(), 6) < 6 for i in range(100))
