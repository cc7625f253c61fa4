"""The Redis store against a real Redis: atomic under concurrency, idempotent, same as the spec.

Each test works under its own key prefix (``inventory:t-<random>:``) and deletes it
afterwards, so tests never see each other's stock.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import (
    OrderCancelled,
    OrderCompleted,
    OrderLine,
    OrderPlaced,
    reaction,
)
from inventory.catalog import Product
from inventory.domain import (
    Cause,
    Consumed,
    Counters,
    OrderRecord,
    reactions,
    touched,
    violations,
)
from inventory.memory import MemoryStore
from inventory.store import RedisStore

pytestmark = pytest.mark.integration

PRODUCTS = (
    Product("scarce", "Scarce thing", Decimal("9.99"), 7),
    Product("rare", "Rare thing", Decimal("19.99"), 5),
    Product("plenty", "Common thing", Decimal("1.00"), 1000),
)


def new_prefix() -> str:
    return f"inventory:t-{uuid.uuid4().hex[:10]}:"


@pytest.fixture
def redis_url(stack_env: dict[str, str]) -> str:
    return stack_env["REDIS_URL"]


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[RedisStore]:
    s = RedisStore.from_url(redis_url, prefix=new_prefix())
    await s.prepare()
    await s.seed(PRODUCTS, mode="create")
    yield s
    await s.reset()
    await s.close()


@pytest.fixture
async def clients(store: RedisStore, redis_url: str) -> AsyncIterator[list[RedisStore]]:
    """Several stores on the same keys, each with its own connections: several workers."""
    others = [RedisStore.from_url(redis_url, prefix=store.prefix) for _ in range(5)]
    yield [store, *others]
    for other in others:
        await other.close()


def placed(*lines: tuple[str, int], order_id: str | None = None) -> OrderPlaced:
    oid = order_id or f"o-{uuid.uuid4().hex[:12]}"
    return OrderPlaced(
        order_id=oid,
        correlation_id=oid,
        user_id="user-1",
        currency="USD",
        amount=Decimal("1.00"),
        items=tuple(
            OrderLine(product_id=p, quantity=n, unit_price=Decimal("1.00")) for p, n in lines
        ),
    )


def cancelled(order: OrderPlaced) -> OrderCancelled:
    return reaction(order, OrderCancelled, user_id="user-1", reason="timeout")


def completed(order: OrderPlaced) -> OrderCompleted:
    return reaction(order, OrderCompleted, user_id="user-1", amount=Decimal(1), currency="USD")


async def counters(store: RedisStore) -> dict[str, Counters]:
    found = await store.counters()
    assert violations(found) == []
    return found


# -- atomicity across workers ------------------------------------------------------------


async def test_concurrent_reservations_never_oversell(clients: list[RedisStore]) -> None:
    rng = random.Random(7)
    orders = [
        placed(("scarce", rng.choice([1, 2])), *([("plenty", 3)] if i % 2 else []))
        for i in range(80)
    ]
    results = await asyncio.gather(
        *(clients[i % len(clients)].apply(order) for i, order in enumerate(orders))
    )
    store = clients[0]
    after = await counters(store)
    held = [r.record for r in results if r.record and r.record.state == "reserved"]
    rejected = [r.record for r in results if r.record and r.record.state == "rejected"]
    assert len(held) + len(rejected) == len(orders)
    assert sum(dict(r.lines)["scarce"] for r in held) == after["scarce"].reserved
    assert after["scarce"].reserved + after["scarce"].available == 7
    assert after["scarce"].available in (0, 1)  # stock only shrinks, every want is 1 or 2
    # all or none: a rejected order left nothing behind, and was short when it was decided
    assert after["plenty"].reserved == 3 * sum(1 for r in held if "plenty" in dict(r.lines))
    for record in rejected:
        [short] = record.shortages
        assert short.product_id == "scarce"
        assert short.requested > short.available >= after["scarce"].available


async def test_multi_product_orders_are_all_or_none_under_contention(
    clients: list[RedisStore],
) -> None:
    rng = random.Random(11)
    orders = [
        placed(("scarce", rng.randint(1, 2)), ("rare", rng.randint(1, 2)), ("plenty", 1))
        for _ in range(60)
    ]
    results = await asyncio.gather(
        *(clients[i % len(clients)].apply(o) for i, o in enumerate(orders))
    )
    after = await counters(clients[0])
    held = [r.record for r in results if r.record and r.record.state == "reserved"]
    for product in ("scarce", "rare", "plenty"):
        assert after[product].reserved == sum(dict(r.lines)[product] for r in held)
    assert all(c.available >= 0 for c in after.values())


async def test_concurrent_outcomes_and_redeliveries_keep_the_books(
    clients: list[RedisStore],
) -> None:
    orders = [placed(("scarce", 1), ("plenty", 2)) for _ in range(12)]
    await asyncio.gather(*(clients[i % 6].apply(o) for i, o in enumerate(orders)))
    outcomes: list[Consumed] = []
    for i, order in enumerate(orders):
        outcome = cancelled(order) if i % 2 else completed(order)
        outcomes += [outcome, outcome, order]  # redeliveries, in any order
    random.Random(3).shuffle(outcomes)
    await asyncio.gather(*(clients[i % 6].apply(e) for i, e in enumerate(outcomes)))
    after = await counters(clients[0])
    records = [await clients[0].order(o.order_id) for o in orders]
    sold = sum(1 for r in records if r and r.state == "committed")
    assert after["scarce"] == Counters(
        stocked=7,
        available=7 - sold,
        reserved=0,
        sold=sold,
        units_reserved=7,
        units_released=7 - sold,
        units_committed=sold,
    )


async def test_every_change_of_a_product_gets_a_new_version(clients: list[RedisStore]) -> None:
    orders = [placed(("plenty", 1)) for _ in range(40)]
    results = await asyncio.gather(*(clients[i % 6].apply(o) for i, o in enumerate(orders)))
    versions = [lv.at for r in results for lv in r.levels]
    assert len(versions) == len(set(versions)) == 40
    [latest] = await clients[0].levels(["plenty"])
    newest = max((lv for r in results for lv in r.levels), key=lambda lv: lv.at)
    assert latest == newest
    assert latest.available == 960


# -- one event, one round trip -----------------------------------------------------------


async def test_each_event_is_one_round_trip(store: RedisStore) -> None:
    calls: list[Any] = []
    original = store.client.execute_command

    async def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        return await original(*args, **kwargs)

    store.client.execute_command = counting  # type: ignore[method-assign]
    order = placed(("scarce", 1), ("rare", 1), ("plenty", 1))
    for event in (order, order, completed(order), cancelled(order)):
        calls.clear()
        await store.apply(event)
        assert calls == ["EVALSHA"]


async def test_scripts_are_loaded_again_when_redis_forgot_them(store: RedisStore) -> None:
    await store.client.script_flush()
    applied = await store.apply(placed(("scarce", 1)))
    assert applied.record is not None
    assert applied.record.state == "reserved"


# -- idempotency and tombstones ----------------------------------------------------------


async def test_a_redelivered_order_never_reserves_twice(store: RedisStore) -> None:
    order = placed(("scarce", 2), ("plenty", 1))
    first = await store.apply(order)
    before = await counters(store)
    again = await store.apply(order)
    copy = placed(("scarce", 2), ("plenty", 1), order_id=order.order_id)  # new event id
    republished = await store.apply(copy)
    assert again.record == republished.record == first.record
    assert await counters(store) == before
    assert before["scarce"].units_reserved == 2
    assert reactions(republished.record, copy) == reactions(first.record, order)


async def test_release_and_commit_happen_at_most_once(store: RedisStore) -> None:
    a, b = placed(("scarce", 2)), placed(("scarce", 1))
    await store.apply(a)
    await store.apply(b)
    for _ in range(3):
        await store.apply(cancelled(a))
        await store.apply(completed(b))
        await store.apply(completed(a))  # the other outcome, too late
        await store.apply(cancelled(b))
    after = await counters(store)
    assert after["scarce"] == Counters(
        stocked=7,
        available=6,
        sold=1,
        units_reserved=3,
        units_released=2,
        units_committed=1,
    )
    record_a, record_b = await store.order(a.order_id), await store.order(b.order_id)
    assert record_a and record_a.state == "released"
    assert record_b and record_b.state == "committed"


async def test_a_cancellation_first_leaves_a_tombstone_then_reserves_and_releases_at_once(
    store: RedisStore,
) -> None:
    order = placed(("scarce", 3), ("rare", 1))
    tombstone = await store.apply(cancelled(order))
    assert tombstone.record is not None
    assert tombstone.record.state == "cancelled"
    assert tombstone.levels == ()
    assert (await counters(store))["scarce"].units_reserved == 0

    late = await store.apply(order)
    assert late.record is not None
    assert late.record.state == "released"
    after = await counters(store)
    assert (after["scarce"].available, after["scarce"].reserved) == (7, 0)
    assert (after["scarce"].units_reserved, after["scarce"].units_released) == (3, 3)
    assert [lv.product_id for lv in late.levels] == ["rare", "scarce"]

    again = await store.apply(order)
    assert again.record == late.record
    assert await counters(store) == after


async def test_a_completion_first_reserves_and_sells_at_once(store: RedisStore) -> None:
    order = placed(("rare", 2))
    await store.apply(completed(order))
    applied = await store.apply(order)
    assert applied.record is not None
    assert applied.record.state == "committed"
    assert (await counters(store))["rare"].sold == 2


async def test_a_release_when_nothing_was_reserved_only_records_the_outcome(
    store: RedisStore,
) -> None:
    order = placed(("scarce", 99))
    rejected = await store.apply(order)
    assert rejected.record is not None
    assert rejected.record.state == "rejected"
    before = await counters(store)
    applied = await store.apply(cancelled(order))
    assert applied.record is not None
    assert (applied.record.state, applied.record.outcome_kind) == ("rejected", "cancelled")
    assert applied.levels == ()
    assert await counters(store) == before


async def test_order_records_expire(redis_url: str) -> None:
    store = RedisStore.from_url(redis_url, prefix=new_prefix(), order_ttl=120)
    try:
        await store.seed(PRODUCTS, mode="create")
        order = placed(("scarce", 1))
        await store.apply(cancelled(order))
        assert 0 < await store.client.ttl(store.order_key(order.order_id)) <= 120
        await store.apply(order)
        assert 0 < await store.client.ttl(store.order_key(order.order_id)) <= 120
        assert await store.client.ttl(store.stock_key("scarce")) == -1  # stock never expires
    finally:
        await store.reset()
        await store.close()


# -- seeding ---------------------------------------------------------------------------------


async def test_seeding_if_empty_keeps_existing_stock(store: RedisStore) -> None:
    await store.apply(placed(("scarce", 2)))
    more = (*PRODUCTS, Product("new", "New thing", Decimal("3.00"), 4))
    seeded = await store.seed(more, mode="create")
    assert [s.action for s in seeded] == ["kept", "kept", "kept", "created"]
    assert seeded[0].level.available == 5
    assert await store.product_ids() == ["new", "plenty", "rare", "scarce"]
    await counters(store)


async def test_a_restock_sets_availability_back_and_keeps_the_books(store: RedisStore) -> None:
    held, sold = placed(("scarce", 2)), placed(("scarce", 3))
    await store.apply(held)
    await store.apply(sold)
    await store.apply(completed(sold))
    seeded = await store.seed(PRODUCTS, mode="restock")
    assert [s.action for s in seeded] == ["restocked", "unchanged", "unchanged"]
    after = await counters(store)
    assert (after["scarce"].available, after["scarce"].reserved, after["scarce"].sold) == (7, 2, 3)
    assert after["scarce"].stocked == 12
    await store.apply(cancelled(held))
    assert (await counters(store))["scarce"].available == 9


async def test_reset_deletes_only_its_own_prefix(store: RedisStore, redis_url: str) -> None:
    neighbour = RedisStore.from_url(redis_url, prefix=new_prefix())
    try:
        await neighbour.seed(PRODUCTS, mode="create")
        await store.apply(placed(("scarce", 1)))
        assert await store.reset() == 3 + 1 + 1  # stock keys, the product set, one order
        assert await store.counters() == {}
        assert set(await neighbour.counters()) == {"scarce", "rare", "plenty"}
    finally:
        await neighbour.reset()
        await neighbour.close()


# -- the scripts mirror the spec ---------------------------------------------------------

ORDERS = [placed(("scarce", 1 + i % 3), ("rare", 1), order_id=f"m-{i}") for i in range(4)]
EVENTS: list[Consumed] = [e for o in ORDERS for e in (o, cancelled(o), completed(o))]
NOON = datetime(2026, 1, 1, 12, tzinfo=UTC)


def _timeless(record: OrderRecord | None) -> OrderRecord | None:
    def cause(c: Cause | None) -> Cause | None:
        return None if c is None else dataclasses.replace(c, at=NOON)

    if record is None:
        return None
    return dataclasses.replace(record, placed=cause(record.placed), outcome=cause(record.outcome))


def _run(coroutine: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(coroutine())


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.integers(min_value=0, max_value=len(EVENTS) - 1), max_size=25))
def test_the_scripts_do_what_the_domain_says(redis_url: str, picks: list[int]) -> None:
    """Any sequence of events gives the same records, stock and reactions in Redis as in
    the pure domain (``MemoryStore``), step by step."""

    async def scenario() -> None:
        redis = RedisStore.from_url(redis_url, prefix=new_prefix())
        memory = MemoryStore(PRODUCTS)
        try:
            await redis.seed(PRODUCTS, mode="create")
            for pick in picks:
                event = EVENTS[pick]
                got, want = await redis.apply(event), await memory.apply(event)
                assert _timeless(got.record) == _timeless(want.record), event
                assert [lv.product_id for lv in got.levels] == list(touched(want.record))
                assert [(e.event_id, type(e)) for e in reactions(got.record, event)] == [
                    (e.event_id, type(e)) for e in reactions(want.record, event)
                ]
                assert await redis.counters() == await memory.counters()
        finally:
            await redis.reset()
            await redis.close()

    _run(scenario)
