"""Analytics decisions, pure: what each event adds to which minute, and how minutes merge.

Counting happens per partition of the inputs (orders, outcomes and page views share a
partition count, so one worker owns partition p of all three) and per minute of event
time (``analytics.windows``). Three metrics:

- ``demand``: the lines of every ``OrderPlaced``, in the minute it occurred;
- ``sales``: the lines of every order that reached ``OrderCompleted``, in the minute of
  the completion. The lines come from the ``OrderPlaced``, so each order's ``Memo``
  (keyed by order id, on the order's partition) remembers them until the outcome, in
  whichever order the two arrive;
- ``pageviews``: one view of ``PageViewed.page``, in the minute it occurred.

Exactly-once counts from at-least-once delivery:

- A ``Bucket`` (one metric, partition and minute) records the greatest offset of each
  input topic it has added, so a redelivered message (same offset) adds nothing twice:
  messages of one partition arrive in offset order.
- A copy of an event under a new offset (the outbox relay re-sends after a crash) is
  recognised by the order's ``Memo``, which records the offset each fact came from; a
  redelivery of *that* offset re-derives the same contributions, which the buckets drop
  if they were already added.

Counts only grow, so the per-partition shares of a minute (``MinuteCountsUpdated``)
merge by taking the largest value of each product and page (``merge``): repeated or
stale shares change nothing. The global counts of a window are the sum of its minutes'
merged shares over all partitions, ranked by ``top_products``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal, NamedTuple

import msgspec

from analytics.windows import Window, is_late, minute_of
from contracts import (
    MinuteCountsUpdated,
    OrderCancelled,
    OrderCompleted,
    OrderPlaced,
    PageStat,
    PageViewed,
    ProductStat,
    TopProductsUpdated,
)

Metric = Literal["demand", "sales", "pageviews"]
METRICS: tuple[Metric, ...] = ("demand", "sales", "pageviews")
ZERO = Decimal(0)


class Tally(msgspec.Struct, frozen=True, array_like=True):
    """Units (or views) and revenue of one product (or page)."""

    units: int
    revenue: Decimal = ZERO


class Contribution(NamedTuple):
    """What one event adds to one metric of its partition in one minute: ``items`` when
    it counts, or one ``late`` event (in the watermark's minute) when it is late."""

    metric: Metric
    minute: datetime
    items: Mapping[str, Tally]
    late: int = 0


class Bucket(msgspec.Struct, frozen=True, kw_only=True):
    """The counts of one metric, one partition and one minute.

    ``applied`` maps each input topic to the greatest offset added so far.
    """

    items: dict[str, Tally] = {}
    late: int = 0
    applied: dict[str, int] = {}


def add(bucket: Bucket | None, part: Contribution, *, topic: str, offset: int) -> Bucket | None:
    """``bucket`` (``None``: empty) with ``part`` added, which the message at ``offset``
    of ``topic`` contributes; ``None`` when that message was added already.

    Each message adds at most one contribution per bucket (``on_placed`` and
    ``on_outcome`` give one per metric).
    """
    bucket = bucket or Bucket()
    if bucket.applied.get(topic, -1) >= offset:
        return None
    items = dict(bucket.items)
    for name, tally in part.items.items():
        items[name] = _plus(items.get(name), tally)
    applied = {**bucket.applied, topic: offset}
    return Bucket(items=items, late=bucket.late + part.late, applied=applied)


# -- orders ------------------------------------------------------------------------


class Placed(msgspec.Struct, frozen=True, kw_only=True):
    """The order's ``OrderPlaced`` as counted: from ``offset`` of its partition, at
    ``at``, into ``minute`` (its own, or the watermark's when ``late``)."""

    offset: int
    at: datetime
    minute: datetime
    late: bool
    lines: dict[str, Tally]


class CountedOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """The order's outcome as counted. ``sold_by`` says which fact's message added the
    sale (the later of the two): ``None`` until both are known or if cancelled."""

    offset: int
    at: datetime
    completed: bool
    minute: datetime
    late: bool
    sold_by: Literal["placed", "outcome"] | None = None


class Memo(msgspec.Struct, frozen=True, kw_only=True):
    """What analytics remembers of one order until ``forget_at``."""

    placed: Placed | None = None
    outcome: CountedOutcome | None = None


class MemoStep(NamedTuple):
    """The memo to keep and what the event adds to the counts."""

    memo: Memo
    adds: tuple[Contribution, ...] = ()


def lines_of(order: OrderPlaced) -> dict[str, Tally]:
    """Units and revenue (quantity x unit price) per product of an order."""
    lines: dict[str, Tally] = {}
    for line in order.items:
        tally = Tally(line.quantity, line.quantity * line.unit_price)
        lines[line.product_id] = _plus(lines.get(line.product_id), tally)
    return lines


def on_placed(
    memo: Memo | None, event: OrderPlaced, *, offset: int, watermark: datetime, grace: timedelta
) -> MemoStep:
    """Count an order's demand, and its sale if its completion came first.

    ``offset`` is the message's offset, ``watermark`` its partition's watermark
    including this event. A second ``OrderPlaced`` under another offset is a copy and
    adds nothing; the same offset again (a redelivery) adds what it added the first time.
    """
    memo = memo or Memo()
    if memo.placed is not None:
        return MemoStep(memo, _placed_adds(memo) if memo.placed.offset == offset else ())
    late = is_late(event.occurred_at, watermark, grace)
    placed = Placed(
        offset=offset,
        at=event.occurred_at,
        minute=minute_of(watermark if late else event.occurred_at),
        late=late,
        lines=lines_of(event),
    )
    outcome = memo.outcome
    if outcome is not None and outcome.completed:
        outcome = msgspec.structs.replace(outcome, sold_by="placed")
    memo = Memo(placed=placed, outcome=outcome)
    return MemoStep(memo, _placed_adds(memo))


def on_outcome(
    memo: Memo | None,
    event: OrderCompleted | OrderCancelled,
    *,
    offset: int,
    watermark: datetime,
    grace: timedelta,
) -> MemoStep:
    """Record an order's outcome; a completion sells the order's lines (now, or when its
    ``OrderPlaced`` arrives). Copies and redeliveries as in ``on_placed``."""
    memo = memo or Memo()
    if memo.outcome is not None:
        return MemoStep(memo, _outcome_adds(memo) if memo.outcome.offset == offset else ())
    completed = isinstance(event, OrderCompleted)
    late = is_late(event.occurred_at, watermark, grace)
    outcome = CountedOutcome(
        offset=offset,
        at=event.occurred_at,
        completed=completed,
        minute=minute_of(watermark if late else event.occurred_at),
        late=late,
        sold_by="outcome" if completed and memo.placed is not None else None,
    )
    memo = Memo(placed=memo.placed, outcome=outcome)
    return MemoStep(memo, _outcome_adds(memo))


def forget_at(memo: Memo, retention: timedelta) -> datetime:
    """When (in event time: the partition's watermark) the memo may be forgotten:
    ``retention`` after the latest of its facts."""
    times = [f.at for f in (memo.placed, memo.outcome) if f is not None]
    return max(times) + retention


def _placed_adds(memo: Memo) -> tuple[Contribution, ...]:
    placed = memo.placed
    assert placed is not None
    adds = [_contribution("demand", placed.minute, placed.lines, placed.late)]
    if memo.outcome is not None and memo.outcome.sold_by == "placed":
        adds.append(_sale(memo))
    return tuple(adds)


def _outcome_adds(memo: Memo) -> tuple[Contribution, ...]:
    return (_sale(memo),) if memo.outcome and memo.outcome.sold_by == "outcome" else ()


def _sale(memo: Memo) -> Contribution:
    assert memo.placed is not None and memo.outcome is not None
    outcome = memo.outcome
    return _contribution("sales", outcome.minute, memo.placed.lines, outcome.late)


def _contribution(
    metric: Metric, minute: datetime, items: Mapping[str, Tally], late: bool
) -> Contribution:
    return Contribution(metric, minute, {}, 1) if late else Contribution(metric, minute, items)


# -- page views ----------------------------------------------------------------------


def on_page_view(event: PageViewed, *, watermark: datetime, grace: timedelta) -> Contribution:
    """One view of ``event.page`` in its minute, or one late event in the watermark's."""
    if is_late(event.occurred_at, watermark, grace):
        return Contribution("pageviews", minute_of(watermark), {}, 1)
    return Contribution("pageviews", minute_of(event.occurred_at), {event.page: Tally(1)})


# -- merging and ranking ---------------------------------------------------------------


class Counts(msgspec.Struct, frozen=True, kw_only=True):
    """Every count of one minute (or a window): per product, per page, and late events."""

    demand: dict[str, Tally] = {}
    sales: dict[str, Tally] = {}
    pageviews: dict[str, int] = {}
    late: int = 0

    def is_empty(self) -> bool:
        """No counts and no late events."""
        return not (self.demand or self.sales or self.pageviews or self.late)


def counts_of(buckets: Mapping[Metric, Bucket]) -> Counts:
    """The counts of one partition and minute, from its buckets of each metric."""
    empty = Bucket()
    views = buckets.get("pageviews", empty)
    return Counts(
        demand=dict(buckets.get("demand", empty).items),
        sales=dict(buckets.get("sales", empty).items),
        pageviews={page: tally.units for page, tally in views.items.items()},
        late=sum(b.late for b in buckets.values()),
    )


def merge(stored: Counts | None, share: Counts) -> Counts:
    """Two shares of one partition's minute as one: the largest value of everything
    (counts only grow, so the larger is the newer)."""
    if stored is None:
        return share

    def most(a: Mapping[str, Tally], b: Mapping[str, Tally]) -> dict[str, Tally]:
        out = dict(a)
        for name, t in b.items():
            seen = out.get(name)
            if seen is not None:
                t = Tally(max(seen.units, t.units), max(seen.revenue, t.revenue))
            out[name] = t
        return out

    views = dict(stored.pageviews)
    for page, n in share.pageviews.items():
        views[page] = max(views.get(page, 0), n)
    return Counts(
        demand=most(stored.demand, share.demand),
        sales=most(stored.sales, share.sales),
        pageviews=views,
        late=max(stored.late, share.late),
    )


def total(shares: Iterable[Counts]) -> Counts:
    """The sum of ``shares`` (the minutes of a window, over every partition)."""
    demand: dict[str, Tally] = {}
    sales: dict[str, Tally] = {}
    views: dict[str, int] = {}
    late = 0
    for share in shares:
        for name, t in share.demand.items():
            demand[name] = _plus(demand.get(name), t)
        for name, t in share.sales.items():
            sales[name] = _plus(sales.get(name), t)
        for page, n in share.pageviews.items():
            views[page] = views.get(page, 0) + n
        late += share.late
    return Counts(demand=demand, sales=sales, pageviews=views, late=late)


def top_products(items: Mapping[str, Tally], n: int) -> tuple[ProductStat, ...]:
    """The top ``n`` products by units together with the top ``n`` by revenue (so a
    reader can rank by either), ordered by units, then revenue, descending, then id."""

    def units_first(p: str) -> tuple[int, Decimal, str]:
        return (-items[p].units, -items[p].revenue, p)

    def revenue_first(p: str) -> tuple[Decimal, int, str]:
        return (-items[p].revenue, -items[p].units, p)

    chosen = set(sorted(items, key=units_first)[:n]) | set(sorted(items, key=revenue_first)[:n])
    return tuple(
        ProductStat(product_id=p, units=items[p].units, revenue=items[p].revenue)
        for p in sorted(chosen, key=units_first)
    )


def top_pages(views: Mapping[str, int], n: int) -> tuple[PageStat, ...]:
    """The ``n`` most viewed pages, most views first, then by page."""
    ranked = sorted(views, key=lambda page: (-views[page], page))[:n]
    return tuple(PageStat(page=page, views=views[page]) for page in ranked)


# -- messages ------------------------------------------------------------------------


def share_message(
    group: str, partition: int, minute: datetime, counts: Counts, *, at: datetime
) -> MinuteCountsUpdated:
    """The ``MinuteCountsUpdated`` of one partition's minute: every product and page."""
    return MinuteCountsUpdated(
        occurred_at=at,
        correlation_id=f"{group}-minutes",
        group=group,
        partition=partition,
        minute_start=minute,
        demand=_stats(counts.demand),
        sales=_stats(counts.sales),
        pageviews=tuple(PageStat(page=p, views=v) for p, v in sorted(counts.pageviews.items())),
        late_events=counts.late,
    )


def share_counts(message: MinuteCountsUpdated) -> Counts:
    """The counts a ``MinuteCountsUpdated`` carries."""
    return Counts(
        demand={s.product_id: Tally(s.units, s.revenue) for s in message.demand},
        sales={s.product_id: Tally(s.units, s.revenue) for s in message.sales},
        pageviews={p.page: p.views for p in message.pageviews},
        late=message.late_events,
    )


def snapshot(window: Window, counts: Counts, *, top: int, at: datetime) -> TopProductsUpdated:
    """The ``TopProductsUpdated`` of a window from its total counts."""
    return TopProductsUpdated(
        occurred_at=at,
        correlation_id=f"analytics-{window.kind}",
        window_kind=window.kind,
        window_start=window.start,
        window_end=window.end,
        demand=top_products(counts.demand, top),
        sales=top_products(counts.sales, top),
        pageviews=top_pages(counts.pageviews, top),
        late_events=counts.late,
    )


# -- the tables' bytes ----------------------------------------------------------------

_encoder = msgspec.msgpack.Encoder()
_buckets = msgspec.msgpack.Decoder(Bucket)
_memos = msgspec.msgpack.Decoder(Memo)
_counts = msgspec.msgpack.Decoder(Counts)


def dump(value: Bucket | Memo | Counts) -> bytes:
    """A bucket, memo or counts as the bytes kept in a table."""
    return _encoder.encode(value)


def load_bucket(data: bytes) -> Bucket:
    """The bucket ``dump`` wrote."""
    return _buckets.decode(data)


def load_memo(data: bytes) -> Memo:
    """The memo ``dump`` wrote."""
    return _memos.decode(data)


def load_counts(data: bytes) -> Counts:
    """The counts ``dump`` wrote."""
    return _counts.decode(data)


# -- helpers ------------------------------------------------------------------------


def _plus(a: Tally | None, b: Tally) -> Tally:
    return b if a is None else Tally(a.units + b.units, a.revenue + b.revenue)


def _stats(items: Mapping[str, Tally]) -> tuple[ProductStat, ...]:
    return tuple(
        ProductStat(product_id=p, units=t.units, revenue=t.revenue)
        for p, t in sorted(items.items())
    )
