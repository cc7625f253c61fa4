"""The auditor's verdict as the dashboard shows it: the latest summary per partition,
added up (``dashboard.audit``), without a broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts import AuditedOrder, AuditSummary, encode
from dashboard.audit import KINDS, MAX_LISTED, AuditFeed, merge

NOW = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)


def summary(
    partition: int, at: datetime = NOW, group: str = "auditor", **fields: object
) -> AuditSummary:
    return AuditSummary(
        correlation_id=group,
        group=group,
        partition=partition,
        occurred_at=at,
        **fields,  # type: ignore[arg-type]
    )


def test_merge_adds_up_the_partitions_and_lists_the_violations() -> None:
    bad = AuditedOrder(order_id="o-1", kinds=("double_charged", "wrong_charge"))
    merged = merge(
        [
            summary(
                1,
                orders=10,
                pending=1,
                double_charged=1,
                wrong_charge=1,
                violations=(bad,),
                checked_at=NOW,
            ),
            summary(0, orders=5, checked_at=NOW - timedelta(seconds=3)),
        ],
        now=NOW,
    )

    assert merged["orders"] == 15 and merged["pending"] == 1
    assert merged["partitions"] == [0, 1]
    assert merged["counts"]["doubleCharged"] == 1 and merged["counts"]["lost"] == 0
    assert len(merged["counts"]) == len(KINDS)
    assert merged["violations"] == [{"orderId": "o-1", "kinds": ["double_charged", "wrong_charge"]}]
    assert merged["checkedAt"] == (NOW - timedelta(seconds=3)).isoformat()
    assert merged["stale"] is False


def test_merge_bounds_the_list_and_notices_a_silent_auditor() -> None:
    many = tuple(AuditedOrder(order_id=f"o-{i}", kinds=("overdue",)) for i in range(40))
    merged = merge(
        [summary(0, orders=40, violations=many), summary(1, orders=40, violations=many)],
        now=NOW + timedelta(minutes=5),
    )

    assert len(merged["violations"]) == MAX_LISTED
    assert merged["stale"] is True


def test_the_feed_keeps_the_newest_summary_of_each_partition_of_its_group() -> None:
    feed = AuditFeed(["127.0.0.1:1"], group="auditor")
    newer = summary(2, orders=7)
    older = summary(2, at=NOW - timedelta(seconds=5), orders=3)

    for value in (
        encode(newer),
        encode(older),
        encode(summary(2, group="other", orders=99)),
        b"not an event",
        None,
    ):
        feed._keep(value)

    assert feed.latest == {2: newer}
