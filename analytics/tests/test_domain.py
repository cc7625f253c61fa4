"""Counting, exactly once per message, merging and ranking: pure, no broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from analytics import domain
from analytics.domain import Bucket, Contribution, Counts, Memo, Tally
from analytics.windows import Window
from contracts.testing import order_cancelled, order_completed, order_placed, page_viewed

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GRACE = timedelta(seconds=10)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


ORDER = order_placed(
    ("p-1", 2, "10.00"), ("p-2", 1, "5.50"), ("p-1", 1, "10.00"), order_id="o-1", at=at(10)
)
LINES = {"p-1": Tally(3, Decimal("30.00")), "p-2": Tally(1, Decimal("5.50"))}


def test_lines_sum_per_product() -> None:
    assert domain.lines_of(ORDER) == LINES


def test_demand_counts_in_the_minute_the_order_occurred() -> None:
    step = domain.on_placed(None, ORDER, offset=7, watermark=at(10), grace=GRACE)

    assert step.adds == (Contribution("demand", T0, LINES),)
    assert step.memo.placed is not None and step.memo.placed.offset == 7


def test_a_late_order_is_counted_as_late_in_the_watermarks_minute() -> None:
    step = domain.on_placed(None, ORDER, offset=7, watermark=at(70), grace=GRACE)

    assert step.adds == (Contribution("demand", at(60), {}, 1),)
    assert domain.on_placed(None, ORDER, offset=7, watermark=at(69), grace=GRACE).adds[0].items


def test_a_completed_order_sells_its_lines_in_the_minute_of_completion() -> None:
    memo = domain.on_placed(None, ORDER, offset=7, watermark=at(10), grace=GRACE).memo

    step = domain.on_outcome(
        memo, order_completed("o-1", at=at(65)), offset=3, watermark=at(65), grace=GRACE
    )

    assert step.adds == (Contribution("sales", at(60), LINES),)


def test_a_cancelled_order_sells_nothing() -> None:
    memo = domain.on_placed(None, ORDER, offset=7, watermark=at(10), grace=GRACE).memo

    assert (
        domain.on_outcome(
            memo, order_cancelled("o-1", at=at(40)), offset=3, watermark=at(40), grace=GRACE
        ).adds
        == ()
    )


def test_a_completion_before_its_order_sells_when_the_order_arrives() -> None:
    first = domain.on_outcome(
        None, order_completed("o-1", at=at(65)), offset=3, watermark=at(65), grace=GRACE
    )
    assert first.adds == ()

    step = domain.on_placed(first.memo, ORDER, offset=7, watermark=at(10), grace=GRACE)

    assert step.adds == (Contribution("demand", T0, LINES), Contribution("sales", at(60), LINES))


def test_a_copy_under_another_offset_adds_nothing_and_a_redelivery_adds_the_same() -> None:
    memo = domain.on_placed(None, ORDER, offset=7, watermark=at(10), grace=GRACE).memo
    memo = domain.on_outcome(
        memo, order_completed("o-1", at=at(65)), offset=3, watermark=at(65), grace=GRACE
    ).memo

    copy = domain.on_placed(memo, ORDER, offset=99, watermark=at(500), grace=GRACE)
    again = domain.on_placed(memo, ORDER, offset=7, watermark=at(500), grace=GRACE)
    outcome_again = domain.on_outcome(
        memo, order_completed("o-1", at=at(65)), offset=3, watermark=at(900), grace=GRACE
    )

    assert copy == (memo, ())
    # the demand again, judged as the first time; the sale belongs to the outcome's message
    assert again == (memo, (Contribution("demand", T0, LINES),))
    assert outcome_again.adds == (Contribution("sales", at(60), LINES),)


def test_a_bucket_adds_each_message_once() -> None:
    part = Contribution("demand", T0, LINES)

    once = domain.add(None, part, topic="orders.v1", offset=7)
    assert once == Bucket(items=LINES, applied={"orders.v1": 7})
    assert domain.add(once, part, topic="orders.v1", offset=7) is None
    assert domain.add(once, part, topic="orders.v1", offset=6) is None
    twice = domain.add(once, part, topic="orders.outcome.v1", offset=1)
    assert twice is not None and twice.items["p-1"] == Tally(6, Decimal("60.00"))
    late = domain.add(twice, Contribution("demand", T0, {}, 1), topic="orders.v1", offset=8)
    assert late is not None and late.late == 1 and late.items == twice.items


def test_page_views_count_per_page_or_late() -> None:
    view = page_viewed("/", at(5))

    assert domain.on_page_view(view, watermark=at(5), grace=GRACE) == Contribution(
        "pageviews", T0, {"/": Tally(1)}
    )
    assert domain.on_page_view(view, watermark=at(200), grace=GRACE) == Contribution(
        "pageviews", at(180), {}, 1
    )


def test_a_memo_is_forgotten_retention_after_its_last_fact() -> None:
    memo = domain.on_placed(None, ORDER, offset=7, watermark=at(10), grace=GRACE).memo
    assert domain.forget_at(memo, timedelta(minutes=10)) == at(610)
    memo = domain.on_outcome(
        memo, order_completed("o-1", at=at(65)), offset=3, watermark=at(65), grace=GRACE
    ).memo
    assert domain.forget_at(memo, timedelta(minutes=10)) == at(665)


def test_shares_merge_by_the_largest_value_so_stale_or_repeated_ones_change_nothing() -> None:
    newer = Counts(demand={"p-1": Tally(3, Decimal(30))}, pageviews={"/": 4}, late=2)
    older = Counts(demand={"p-1": Tally(1, Decimal(10)), "p-2": Tally(1, Decimal(5))}, late=1)

    merged = domain.merge(newer, older)

    assert merged == Counts(
        demand={"p-1": Tally(3, Decimal(30)), "p-2": Tally(1, Decimal(5))},
        pageviews={"/": 4},
        late=2,
    )
    assert domain.merge(merged, newer) == merged == domain.merge(domain.merge(None, older), newer)


def test_a_window_totals_its_minutes_over_every_partition() -> None:
    shares = [
        Counts(demand={"p-1": Tally(3, Decimal(30))}, pageviews={"/": 1}),
        Counts(demand={"p-1": Tally(1, Decimal(10)), "p-2": Tally(2, Decimal(8))}, late=1),
    ]

    assert domain.total(shares) == Counts(
        demand={"p-1": Tally(4, Decimal(40)), "p-2": Tally(2, Decimal(8))},
        pageviews={"/": 1},
        late=1,
    )


def test_top_n_holds_the_top_by_units_and_the_top_by_revenue() -> None:
    items = {
        "cheap": Tally(10, Decimal("10")),
        "dear": Tally(1, Decimal("500")),
        "mid": Tally(5, Decimal("50")),
        "tie-b": Tally(5, Decimal("50")),
    }

    top = domain.top_products(items, 1)
    assert [s.product_id for s in top] == ["cheap", "dear"]
    top = domain.top_products(items, 2)
    assert [s.product_id for s in top] == ["cheap", "mid", "dear"]  # ties by id
    assert len(domain.top_products(items, 10)) == 4


def test_snapshot_and_share_messages_carry_the_counts() -> None:
    counts = Counts(
        demand=LINES, sales={"p-2": Tally(1, Decimal("5.50"))}, pageviews={"/": 3, "/x": 1}, late=1
    )
    window = Window("hopping_5m", T0, at(300))

    snap = domain.snapshot(window, counts, top=1, at=at(301))
    share = domain.share_message("analytics", 4, T0, counts, at=at(70))

    assert (snap.window_kind, snap.window_start, snap.window_end) == ("hopping_5m", T0, at(300))
    assert [(s.product_id, s.units, s.revenue) for s in snap.demand] == [
        ("p-1", 3, Decimal("30.00"))
    ]
    assert [(p.page, p.views) for p in snap.pageviews] == [("/", 3)]
    assert snap.late_events == 1
    assert domain.share_counts(share) == counts
    assert (share.group, share.partition, share.minute_start) == ("analytics", 4, T0)


def test_table_values_round_trip() -> None:
    memo = domain.on_placed(None, ORDER, offset=7, watermark=at(10), grace=GRACE).memo
    bucket = domain.add(None, Contribution("demand", T0, LINES), topic="t", offset=1)
    counts = Counts(demand=LINES, pageviews={"/": 1}, late=3)

    assert domain.load_memo(domain.dump(memo)) == memo
    assert bucket is not None and domain.load_bucket(domain.dump(bucket)) == bucket
    assert domain.load_counts(domain.dump(counts)) == counts
    assert domain.load_memo(domain.dump(Memo())) == Memo()
