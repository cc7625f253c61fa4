"""The analytics wiring through Faust's ``agent.test_context()``: count, share, merge, snapshot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import faust
import pytest

from analytics.agent import COUNTER, MERGER, Installed, install
from analytics.settings import AnalyticsSettings
from config.env import PlatformSettings
from contracts import Event, MinuteCountsUpdated, TopProductsUpdated, encode, key_of
from contracts.testing import RecordingPublisher, order_completed, order_placed, page_viewed
from streaming import create_app
from streaming.expiry import default_partition

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PLATFORM = PlatformSettings(kafka_bootstrap_servers="127.0.0.1:1")
PARTITIONS = PLATFORM.topic_partitions


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class Rig:
    def __init__(self, top: int = 10) -> None:
        settings = AnalyticsSettings(platform=PLATFORM, group="analytics-test", top=top)
        self.app = create_app(settings.group, settings.platform)
        self.shares, self.snapshots = RecordingPublisher(), RecordingPublisher()
        self.installed: Installed = install(
            self.app,
            settings,
            failures=None,
            publish_share=self.shares,
            publish_snapshot=self.snapshots,
            owned=lambda topic: set(range(PARTITIONS)),
            clock=lambda: at(1000),
        )

    async def round(self, merger: faust.types.AgentTestWrapperT) -> list[TopProductsUpdated]:
        """One round of both timers, the shares fed to the merger in between."""
        start = len(self.shares)
        await self.installed.publish_minutes()
        for share in self.shares[start:]:
            await put(merger, share)
        done = len(self.snapshots)
        await self.installed.publish_snapshots()
        return [s for s in self.snapshots[done:] if isinstance(s, TopProductsUpdated)]


async def put(agent: faust.types.AgentTestWrapperT, event: Event) -> None:
    key = key_of(event)
    await agent.put(encode(event), key=key, partition=default_partition(key, PARTITIONS))


@pytest.fixture
async def rig() -> AsyncIterator[
    tuple[Rig, faust.types.AgentTestWrapperT, faust.types.AgentTestWrapperT]
]:
    made = Rig(top=2)
    async with (
        made.app.agents[COUNTER].test_context() as counter,
        made.app.agents[MERGER].test_context() as merger,
    ):
        yield made, counter, merger


def latest(snapshots: list[TopProductsUpdated], kind: str, start: datetime) -> TopProductsUpdated:
    return [s for s in snapshots if s.window_kind == kind and s.window_start == start][-1]


def ranked(stats: tuple) -> list[tuple[str, int, Decimal]]:
    return [(s.product_id, s.units, s.revenue) for s in stats]


async def test_orders_on_every_partition_make_one_global_top_n(rig) -> None:
    made, counter, merger = rig
    orders = [
        order_placed(
            ("p-1", 1, "10.00"),
            ("p-2", 2, "1.00"),
            ("p-3", 1, "99.00"),
            order_id=f"o-{i}",
            at=at(5 + i),
        )
        for i in range(12)
    ]
    assert len({default_partition(o.order_id.encode(), PARTITIONS) for o in orders}) > 1
    for order in orders:
        await put(counter, order)
    for order in orders[:5]:
        await put(counter, order_completed(order.order_id, at=at(50)))
    await put(counter, page_viewed("/", at(7)))

    snapshots = await made.round(merger)

    tumbling = latest(snapshots, "tumbling_1m", T0)
    assert ranked(tumbling.demand) == [  # top 2 by units (p-2, p-3), by revenue (p-3, p-1)
        ("p-2", 24, Decimal("24.00")),
        ("p-3", 12, Decimal("1188.00")),
        ("p-1", 12, Decimal("120.00")),
    ]
    assert ranked(tumbling.sales)[0] == ("p-2", 10, Decimal("10.00"))
    assert [(p.page, p.views) for p in tumbling.pageviews] == [("/", 1)]
    hopping = latest(snapshots, "hopping_5m", T0 - timedelta(minutes=4))
    assert hopping.window_end == T0 + timedelta(minutes=1)
    assert hopping.demand == tumbling.demand


async def test_a_redelivered_message_is_counted_once_and_a_late_one_as_late(rig) -> None:
    made, counter, merger = rig
    order = order_placed(("p-1", 1, "10.00"), order_id="o-1", at=at(5))
    await put(counter, order)
    counter.sent_offset -= 1  # the same message again, as after a crash
    await put(counter, order)
    await put(counter, order)  # a copy under a new offset (the relay re-sent it)
    # a later order on the same partition moves its watermark past 12:00's grace
    later, late = neighbours("o-1", 2)
    await put(counter, order_placed(("p-2", 1, "1.00"), order_id=later, at=at(130)))
    await put(counter, order_placed(("p-9", 1, "1.00"), order_id=late, at=at(6)))
    snapshots = await made.round(merger)

    first = latest(snapshots, "tumbling_1m", T0)
    assert ranked(first.demand) == [("p-1", 1, Decimal("10.00"))]  # no p-9
    assert first.late_events == 0
    third = latest(snapshots, "tumbling_1m", at(120))
    assert (ranked(third.demand), third.late_events) == ([("p-2", 1, Decimal("1.00"))], 1)
    five = latest(snapshots, "hopping_5m", at(120) - timedelta(minutes=4))
    assert [s.product_id for s in five.demand] == ["p-1", "p-2"]
    assert five.late_events == 1


def neighbours(order_id: str, n: int) -> list[str]:
    """``n`` other order ids on the partition of ``order_id``."""
    home = default_partition(order_id.encode(), PARTITIONS)
    ids = (f"{order_id}-{i}" for i in range(1_000))
    return [o for o in ids if default_partition(o.encode(), PARTITIONS) == home][:n]


async def test_the_merger_ignores_other_groups_and_repeated_shares(rig) -> None:
    made, counter, merger = rig
    await put(counter, order_placed(("p-1", 1, "10.00"), order_id="o-1", at=at(5)))
    await made.round(merger)
    [share] = made.shares
    assert isinstance(share, MinuteCountsUpdated)
    stranger = MinuteCountsUpdated(
        correlation_id="x",
        group="someone-else",
        partition=share.partition,
        minute_start=T0,
        demand=((share.demand[0].__class__(product_id="p-7", units=99, revenue=Decimal(1))),),
    )
    await put(merger, stranger)
    await put(merger, share)
    made.installed.merger.changed.add(T0)
    await made.installed.publish_snapshots()

    tumbling = latest(
        [s for s in made.snapshots if isinstance(s, TopProductsUpdated)], "tumbling_1m", T0
    )
    assert ranked(tumbling.demand) == [("p-1", 1, Decimal("10.00"))]
