"""Analytics on the real stack: a known set of events gives the expected top-N snapshots,
and a rebuild by replay (offsets rewound, tables reset) gives the same counts again.

The worker test runs ``python -m analytics worker`` with a group of its own, started at
the end of its inputs, and events stamped half an hour ago (their own windows). The
platform test loads ``/`` through the gateway and reads the page views back over HTTP.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from analytics.rebuild import rebuild
from analytics.settings import AnalyticsSettings
from config.env import PlatformSettings
from contracts import (
    Event,
    OrderCancelled,
    OrderCompleted,
    OrderLine,
    OrderPlaced,
    PageViewed,
    TopProductsUpdated,
    decode,
    encode,
    key_of,
    topics,
)
from harness.runner import Platform, PlatformOptions
from streaming.expiry import default_partition
from tests.integration.support import fresh_database, http
from tests.support import WorkerProcess, eventually, worker_env

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PARTITIONS = int(os.environ.get("TOPIC_PARTITIONS", "") or topics.ORDERS.partitions)
INPUTS = (topics.ORDERS, topics.OUTCOMES, topics.PAGEVIEWS)
MINUTE = timedelta(minutes=1)

Expected = dict[tuple[str, datetime], tuple[list[tuple[str, int, Decimal]], list, list, int]]


def _run(coro):
    return asyncio.run(coro)


async def _ends(bootstrap: str, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


async def _commit(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


async def _send(bootstrap: str, events: list[Event]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:  # one at a time: the order on each partition is the list's
            topic = {OrderPlaced: topics.ORDERS, PageViewed: topics.PAGEVIEWS}.get(
                type(event), topics.OUTCOMES
            )
            await producer.send_and_wait(topic.name, encode(event), key=key_of(event))
    finally:
        await producer.stop()


async def _snapshots(
    bootstrap: str, since: dict[TopicPartition, int]
) -> dict[tuple[str, datetime], TopProductsUpdated]:
    """The latest snapshot of each window published after ``since``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(since))
        for tp, offset in since.items():
            consumer.seek(tp, offset)
        ends = await consumer.end_offsets(list(since))
        latest: dict[tuple[str, datetime], TopProductsUpdated] = {}
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    snap = decode(record.value)
                    assert isinstance(snap, TopProductsUpdated)
                    latest[(snap.window_kind, snap.window_start)] = snap
        return latest
    finally:
        await consumer.stop()


def _view(snap: TopProductsUpdated) -> tuple[list, list, list, int]:
    return (
        [(s.product_id, s.units, s.revenue) for s in snap.demand],
        [(s.product_id, s.units, s.revenue) for s in snap.sales],
        [(p.page, p.views) for p in snap.pageviews],
        snap.late_events,
    )


def _matches(bootstrap: str, since: dict[TopicPartition, int], expected: Expected) -> bool:
    latest = _run(_snapshots(bootstrap, since))
    return all(key in latest and _view(latest[key]) == want for key, want in expected.items())


def _neighbour(order_id: str, tag: str) -> str:
    home = default_partition(order_id.encode(), PARTITIONS)
    return next(
        f"{tag}-{i}"
        for i in range(10_000)
        if default_partition(f"{tag}-{i}".encode(), PARTITIONS) == home
    )


def _placed(order_id: str, at: datetime, *lines: tuple[str, int, str]) -> OrderPlaced:
    items = tuple(OrderLine(product_id=p, quantity=q, unit_price=Decimal(u)) for p, q, u in lines)
    return OrderPlaced(
        occurred_at=at,
        order_id=order_id,
        correlation_id=order_id,
        user_id="user-it",
        currency="USD",
        amount=sum((i.quantity * i.unit_price for i in items), Decimal(0)),
        items=items,
    )


def _done(order_id: str, at: datetime) -> OrderCompleted:
    return OrderCompleted(
        occurred_at=at,
        order_id=order_id,
        correlation_id=order_id,
        user_id="user-it",
        amount=Decimal(1),
        currency="USD",
    )


@pytest.fixture
def analytics_env(stack_env: dict[str, str]) -> dict[str, str]:
    return worker_env(
        stack_env["KAFKA_BOOTSTRAP_SERVERS"],
        ANALYTICS_GROUP=f"analytics-it-{uuid.uuid4().hex[:8]}",
        ANALYTICS_SNAPSHOT_INTERVAL="0.5",
        ANALYTICS_TOP_N="2",
    )


@pytest.mark.timeout(600)
def test_known_orders_give_the_expected_top_n_and_a_rebuild_gives_the_same(
    analytics_env: dict[str, str], tmp_path: Path
) -> None:
    bootstrap = analytics_env["KAFKA_BOOTSTRAP_SERVERS"]
    group = analytics_env["ANALYTICS_GROUP"]
    inputs = [TopicPartition(t.name, p) for t in INPUTS for p in range(PARTITIONS)]
    minutes = [TopicPartition(topics.MINUTES.name, p) for p in range(PARTITIONS)]
    snaps = [TopicPartition(topics.SNAPSHOTS.name, p) for p in range(PARTITIONS)]
    starts = _run(_ends(bootstrap, inputs))
    # the group starts where this test does: only its own events count
    _run(_commit(bootstrap, group, {**starts, **_run(_ends(bootstrap, minutes))}))
    since = _run(_ends(bootstrap, snaps))

    tag = uuid.uuid4().hex[:6]
    a, b, c, d = (f"it{tag}-{x}" for x in "abcd")
    page = f"/it-{tag}"
    t0 = datetime.now(UTC).replace(second=0, microsecond=0) - 30 * MINUTE
    o1, o2, o3, o4 = (f"it{tag}-o{i}" for i in range(1, 5))
    late_mover = _neighbour(o1, f"it{tag}-e")  # moves o1's partition watermark ahead
    late = _neighbour(o1, f"it{tag}-f")
    events: list[Event] = [
        PageViewed(occurred_at=t0 + timedelta(seconds=5), correlation_id="s", page=page),
        PageViewed(occurred_at=t0 + timedelta(seconds=6), correlation_id="s", page=page),
        _placed(o1, t0 + timedelta(seconds=10), (a, 3, "10.00"), (b, 1, "50.00")),
        _done(o1, t0 + timedelta(seconds=15)),
        _placed(o2, t0 + timedelta(seconds=20), (b, 2, "50.00"), (c, 1, "5.00"), (d, 1, "1.00")),
        OrderCancelled(
            occurred_at=t0 + timedelta(seconds=25),
            order_id=o2,
            correlation_id=o2,
            user_id="user-it",
            reason="payment_declined",
        ),
        _placed(o3, t0 + timedelta(seconds=50), (c, 4, "5.00")),
        PageViewed(occurred_at=t0 + timedelta(seconds=61), correlation_id="s", page=page),
        _done(o3, t0 + timedelta(seconds=65)),
        _placed(o4, t0 + timedelta(seconds=70), (a, 1, "10.00")),
        _done(o4, t0 + timedelta(seconds=75)),
        _placed(late_mover, t0 + timedelta(seconds=180), (a, 1, "10.00")),
        _placed(late, t0 + timedelta(seconds=30), (c, 9, "5.00")),  # 2.5 min late: not counted
    ]

    def money(units: int, amount: str) -> tuple[int, Decimal]:
        return units, Decimal(amount)

    expected: Expected = {
        ("tumbling_1m", t0): (
            [(c, *money(5, "25")), (b, *money(3, "150")), (a, *money(3, "30"))],  # d: not top 2
            [(a, *money(3, "30")), (b, *money(1, "50"))],
            [(page, 2)],
            0,
        ),
        ("tumbling_1m", t0 + MINUTE): (
            [(a, *money(1, "10"))],
            [(c, *money(4, "20")), (a, *money(1, "10"))],
            [(page, 1)],
            0,
        ),
        ("tumbling_1m", t0 + 3 * MINUTE): ([(a, *money(1, "10"))], [], [], 1),
        ("hopping_5m", t0 - MINUTE): (  # [t0-1m, t0+4m): everything
            [(a, *money(5, "50")), (c, *money(5, "25")), (b, *money(3, "150"))],
            [(a, *money(4, "40")), (c, *money(4, "20")), (b, *money(1, "50"))],
            [(page, 3)],
            1,
        ),
    }

    worker = WorkerProcess("analytics", tmp_path, analytics_env, name="worker")
    worker.start()
    try:
        _run(_send(bootstrap, events))
        try:
            eventually(
                lambda: _matches(bootstrap, since, expected),
                timeout=180,
                what="the expected snapshots",
                interval=1.0,
            )
        except AssertionError:
            latest = _run(_snapshots(bootstrap, since))
            got = {k: _view(latest[k]) for k in expected if k in latest}
            pytest.fail(f"snapshots: {got}\nworker:\n{worker.log_tail(100)}")
    finally:
        worker.stop()

    # Rebuild: offsets back to where the group started, tables reset.
    settings = AnalyticsSettings(
        platform=PlatformSettings(kafka_bootstrap_servers=bootstrap), group=group
    )
    _run(rebuild(settings, starts=starts))
    since = _run(_ends(bootstrap, snaps))
    again = WorkerProcess("analytics", tmp_path, analytics_env, name="rebuilt")
    again.start()
    try:
        try:
            eventually(
                lambda: _matches(bootstrap, since, expected),
                timeout=180,
                what="the same snapshots after the rebuild",
                interval=1.0,
            )
        except AssertionError:
            latest = _run(_snapshots(bootstrap, since))
            got = {k: _view(latest[k]) for k in expected if k in latest}
            pytest.fail(f"rebuilt snapshots: {got}\nworker:\n{again.log_tail(100)}")
    finally:
        again.stop()


@pytest.fixture(scope="module")
def analytics_platform(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    tmp = Path(tmp_path_factory.mktemp("analytics"))
    env = {
        **stack_env,
        "DATABASE_URL": fresh_database(stack_env["DATABASE_URL"]),
        "ANALYTICS_GROUP": f"analytics-platform-{uuid.uuid4().hex[:8]}",
        "ANALYTICS_SNAPSHOT_INTERVAL": "0.5",
    }
    platform = Platform(
        env,
        PlatformOptions(
            services=["gateway", "relay", "projector", "analytics"], log_dir=tmp / "logs"
        ),
    )
    platform.start()
    try:
        yield platform
    finally:
        platform.stop()


def test_index_page_loads_reach_the_page_views_api(analytics_platform: Platform) -> None:
    url = analytics_platform.gateway_url
    loads = 5
    for _ in range(loads):
        status, _, body = http("GET", f"{url}/")
        assert status == 200, body

    def views() -> int:
        status, _, body = http("GET", f"{url}/api/analytics/pageviews?window=5m")
        assert status == 200, body
        return sum(p["views"] for p in body["pages"] if p["page"] == "/")

    eventually(lambda: views() >= loads, timeout=120, what="the page views", interval=0.5)
    status, _, body = http("GET", f"{url}/api/analytics/top-products?window=5m&by=revenue")
    assert status == 200, body
    assert body["window"]["kind"] == "hopping_5m" and body["by"] == "revenue"
    status, _, body = http("GET", f"{url}/api/analytics/top-products?window=2m")
    assert status == 400 and body["errors"][0]["field"] == "window"
