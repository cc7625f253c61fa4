"""``python -m inventory reconcile [--dry-run]``: rebuild inventory's Redis state from Kafka.

Inventory's stock and order records live in Redis, outside Kafka; a Redis that lost
them (no persistence, a flush, a restore of an old dump) would make ``OrderCompleted``
sell nothing and let later orders oversell. Everything inventory decided is in the
topics, so the state can be recomputed:

- **the decision** of each order from ``inventory.v1``: ``InventoryReserved`` (its units
  per product; its ``causation_id``, correlation and time are the record's ``placed``
  cause) or ``InventoryRejected`` (its shortages);
- **the outcome** from ``orders.outcome.v1`` (the first ``OrderCompleted`` or
  ``OrderCancelled``): a reserved order becomes ``committed`` or ``released``
  (``InventoryReleased`` on ``inventory.v1``, when there, gives the release's time); an
  outcome with no decision yet is a tombstone, as the worker records it;
- **the order's products** from ``orders.v1`` (``OrderPlaced``), to keep only orders of
  the products in scope (tombstones have no lines of their own);
- **each product's counters**: ``reserved``, ``sold`` (= ``units_committed``),
  ``units_reserved``, ``units_released`` summed over the records; ``stocked`` is the
  store's when the product is there (only seeding changes it), else the catalogue's
  level; ``available = stocked - reserved - sold``.

In scope: the catalogue's products and every product already in the store. The
dry run prints every difference between the store and the recomputed state and
changes nothing; otherwise each differing record is rewritten (its TTL what is left of
``INVENTORY_ORDER_TTL`` since its last change; records older than that are not
recreated, as the worker would have let them expire), each differing product's
counters are set (its version bumped) and its new level published on
``inventory.stock.v1`` (``--no-publish`` skips that).

Run it with the inventory workers stopped (it is not atomic with them). It is exact
while the topics hold the whole history (their retention is the records' TTL, 7 days;
beyond it, counters of orders older than the retention are lost with the events). An
order still being processed (an outcome the worker has not applied yet) is rebuilt as
decided; the worker then finds its effect recorded and re-emits the same events.
Times of a commit are the outcome's ``occurred_at`` (the worker records when it applied
it; nothing reads that time back). ``check_start`` is the guard at start: see there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts import (
    Event,
    InventoryRejected,
    InventoryReleased,
    InventoryReserved,
    OrderCancelled,
    OrderCompleted,
    OrderPlaced,
    decode,
)
from contracts.topics import INVENTORY, ORDERS, OUTCOMES
from inventory.catalog import CATALOG, Product
from inventory.domain import HOLDING, Cause, Counters, OrderRecord, OutcomeKind, shortage
from inventory.settings import InventorySettings, load
from inventory.store import RedisStore

#: Give up reading the topics after this long.
READ_TIMEOUT = 120.0
#: The operator's way out, in every refusal.
REMEDY = (
    "run `python -m inventory reconcile` to rebuild it from the topics (`--dry-run` first "
    "shows what it would write), or `python -m inventory seed --reset` to start over on "
    "purpose (reservations of undecided orders are then forgotten)"
)


@dataclass
class History:
    """What the topics say about each order, first of each kind wins."""

    placed: dict[str, OrderPlaced] = field(default_factory=dict)
    decisions: dict[str, InventoryReserved | InventoryRejected] = field(default_factory=dict)
    releases: dict[str, InventoryReleased] = field(default_factory=dict)
    outcomes: dict[str, OrderCompleted | OrderCancelled] = field(default_factory=dict)
    undecodable: int = 0

    def add(self, event: Event) -> None:
        match event:
            case OrderPlaced():
                self.placed.setdefault(event.order_id, event)
            case InventoryReserved() | InventoryRejected():
                self.decisions.setdefault(event.order_id, event)
            case InventoryReleased():
                self.releases.setdefault(event.order_id, event)
            case OrderCompleted() | OrderCancelled():
                self.outcomes.setdefault(event.order_id, event)


@dataclass(frozen=True)
class Expected:
    """The state the topics imply: records by order id, counters by product id."""

    records: dict[str, OrderRecord]
    counters: dict[str, Counters]


@dataclass
class Report:
    """Differences found (one line each) and what was written."""

    differences: list[str] = field(default_factory=list)
    records_written: int = 0
    products_written: int = 0
    orders_seen: int = 0


def _lines(items: Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    units: dict[str, int] = {}
    for product_id, quantity in items:
        units[product_id] = units.get(product_id, 0) + quantity
    return tuple(sorted(units.items()))


def _outcome_kind(event: OrderCompleted | OrderCancelled) -> OutcomeKind:
    return "completed" if isinstance(event, OrderCompleted) else "cancelled"


def record_of(order_id: str, history: History) -> OrderRecord | None:
    """The record the worker keeps for ``order_id``, from the topics (module docstring)."""
    decision = history.decisions.get(order_id)
    outcome = history.outcomes.get(order_id)
    if decision is None:
        if outcome is None:
            return None
        kind = _outcome_kind(outcome)
        cause = Cause(str(outcome.event_id), outcome.correlation_id, outcome.occurred_at)
        return OrderRecord(order_id=order_id, state=kind, outcome=cause, outcome_kind=kind)
    placed = Cause(decision.causation_id or "", decision.correlation_id, decision.occurred_at)
    if isinstance(decision, InventoryRejected):
        record = OrderRecord(
            order_id=order_id,
            state="rejected",
            shortages=tuple(
                shortage(s.product_id, s.requested, s.available) for s in decision.shortages
            ),
            placed=placed,
        )
    else:
        lines = _lines((x.product_id, x.quantity) for x in decision.items)
        record = OrderRecord(order_id=order_id, state="reserved", lines=lines, placed=placed)
    if outcome is None:
        return record
    kind = _outcome_kind(outcome)
    at = outcome.occurred_at
    released = history.releases.get(order_id)
    if kind == "cancelled" and released is not None:
        at = released.occurred_at
    cause = Cause(str(outcome.event_id), outcome.correlation_id, at)
    state = record.state
    if state == "reserved":
        state = "released" if kind == "cancelled" else "committed"
    return replace(record, state=state, outcome=cause, outcome_kind=kind)


def _products_of(order_id: str, record: OrderRecord, history: History) -> set[str]:
    found = {p for p, _ in record.lines} | {s.product_id for s in record.shortages}
    placed = history.placed.get(order_id)
    if placed is not None:
        found |= {x.product_id for x in placed.items}
    return found


def rebuild(history: History, stocked: dict[str, int]) -> Expected:
    """Records and counters of the products in ``stocked`` (their ``stocked`` units)."""
    records: dict[str, OrderRecord] = {}
    for order_id in {*history.decisions, *history.outcomes}:
        record = record_of(order_id, history)
        if record is not None and _products_of(order_id, record, history) & stocked.keys():
            records[order_id] = record
    totals = {p: dict.fromkeys(("reserved", "sold", "ur", "rel"), 0) for p in stocked}
    for record in records.values():
        if record.state not in HOLDING:
            continue
        for product_id, units in record.lines:
            if product_id not in totals:
                continue
            t = totals[product_id]
            t["ur"] += units
            if record.state == "reserved":
                t["reserved"] += units
            elif record.state == "committed":
                t["sold"] += units
            else:
                t["rel"] += units
    counters = {
        p: Counters(
            stocked=stocked[p],
            available=stocked[p] - t["reserved"] - t["sold"],
            reserved=t["reserved"],
            sold=t["sold"],
            units_reserved=t["ur"],
            units_released=t["rel"],
            units_committed=t["sold"],
        )
        for p, t in totals.items()
    }
    return Expected(records, counters)


# -- Kafka ------------------------------------------------------------------------------


async def read_history(bootstrap: list[str] | str, topics: Sequence[str]) -> History:
    """Every record of ``topics`` from the beginning to their end at the start."""
    history = History()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in sorted(await _partitions(consumer, t))]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        deadline = time.monotonic() + READ_TIMEOUT
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {', '.join(topics)} to their end")
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batches.values():
                for r in records:
                    if r.offset >= ends[TopicPartition(r.topic, r.partition)] or r.value is None:
                        continue
                    try:
                        history.add(decode(r.value))
                    except Exception:
                        history.undecodable += 1
    finally:
        await consumer.stop()
    return history


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    metadata = await consumer._client.fetch_all_metadata()
    return set(metadata.partitions_for_topic(topic) or ())


async def group_has_history(settings: InventorySettings) -> bool:
    """Whether inventory's consumer group has committed offsets on its input topics."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.platform.bootstrap_list)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(settings.group)
    finally:
        await admin.close()
    inputs = {ORDERS.name, OUTCOMES.name}
    return any(tp.topic in inputs and meta.offset > 0 for tp, meta in offsets.items())


# -- the store --------------------------------------------------------------------------


async def store_is_empty(store: RedisStore) -> bool:
    """No product seeded and no order recorded under the store's prefix."""
    if await store.client.scard(store.products_key):
        return False
    async for _ in store.client.scan_iter(match=f"{store.prefix}*", count=1000):
        return False
    return True


async def check_start(settings: InventorySettings) -> str | None:
    """The reason not to start, or ``None``: an empty store (no product, no record) while
    inventory's consumer group has already consumed events means Redis lost the state
    (the group would resume after events whose effects are gone, and a ``seed`` would
    restock as if nothing were reserved or sold). A new group with an empty store is a
    first start, so that is allowed."""
    store = RedisStore.from_url(settings.redis_url, prefix=settings.key_prefix)
    try:
        if not await store_is_empty(store):
            return None
    finally:
        await store.close()
    if not await group_has_history(settings):
        return None
    return (
        f"inventory's store under {settings.key_prefix!r} in Redis is empty, but the "
        f"consumer group {settings.group!r} has already consumed orders: the stock and "
        f"reservations were lost. Refusing to start; {REMEDY}."
    )


def run_check_start(settings: InventorySettings | None = None, *, timeout: float = 30.0) -> int:
    """``check_start`` for a command line: 0 to go on, 2 (reason on stderr) to refuse. A
    check that cannot finish (Kafka or Redis down) lets the start go on."""
    settings = settings or load()
    try:
        reason = asyncio.run(asyncio.wait_for(check_start(settings), timeout))
    except Exception as exc:
        print(f"inventory: start check skipped ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 0
    if reason:
        print(f"inventory: {reason}", file=sys.stderr)
        return 2
    return 0


def _record_fields(record: OrderRecord) -> dict[str, str]:
    def us(at: datetime) -> str:
        return str((at - datetime(1970, 1, 1, tzinfo=UTC)) // _US)

    out: dict[str, str] = {"state": record.state}
    if record.state in HOLDING:
        out["lines"] = json.dumps([list(x) for x in record.lines], separators=(",", ":"))
    if record.shortages:
        out["shortages"] = json.dumps(
            [[s.product_id, s.requested, s.available] for s in record.shortages],
            separators=(",", ":"),
        )
    for name in ("placed", "outcome"):
        cause: Cause | None = getattr(record, name)
        if cause is not None:
            out[name], out[f"{name}_corr"] = cause.event_id, cause.correlation_id
            out[f"{name}_at"] = us(cause.at)
    if record.outcome_kind is not None:
        out["outcome_kind"] = record.outcome_kind
    return out


_US = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)


def _same(a: OrderRecord | None, b: OrderRecord) -> bool:
    if a is None:
        return False

    def key(r: OrderRecord) -> tuple[object, ...]:
        outcome = None if r.outcome is None else (r.outcome.event_id, r.outcome.correlation_id)
        return (r.state, r.lines, r.shortages, r.placed, outcome, r.outcome_kind)

    return key(a) == key(b)


def _describe(record: OrderRecord | None) -> str:
    if record is None:
        return "none"
    lines = " ".join(f"{p}x{n}" for p, n in record.lines)
    return f"{record.state}{' ' + lines if lines else ''}"


async def reconcile(
    settings: InventorySettings,
    products: Sequence[Product] = CATALOG,
    *,
    dry_run: bool = False,
    publish: bool = True,
    history: History | None = None,
) -> Report:
    """Compare the store with the topics; unless ``dry_run``, write what differs."""
    if history is None:
        history = await read_history(
            settings.platform.bootstrap_list, [INVENTORY.name, OUTCOMES.name, ORDERS.name]
        )
    store = RedisStore.from_url(
        settings.redis_url, prefix=settings.key_prefix, order_ttl=settings.order_ttl
    )
    report = Report(orders_seen=len({*history.decisions, *history.outcomes}))
    try:
        by_id = {p.product_id: p for p in products}
        in_store = await store.counters(sorted({*by_id, *await store.product_ids()}))
        stocked = {p: c.stocked for p, c in in_store.items()}
        for p in by_id:
            stocked.setdefault(p, by_id[p].stock)
        expected = rebuild(history, stocked)
        now = datetime.now(UTC)
        stale_records: list[OrderRecord] = []
        for order_id, record in sorted(expected.records.items()):
            last = max(c.at for c in (record.placed, record.outcome) if c is not None)
            if (now - last).total_seconds() >= settings.order_ttl:
                continue  # the worker would have let it expire
            current = await store.order(order_id)
            if not _same(current, record):
                report.differences.append(
                    f"order {order_id}: store {_describe(current)}, topics {_describe(record)}"
                )
                stale_records.append(record)
        changed: list[str] = []
        for product_id, want in sorted(expected.counters.items()):
            have = in_store.get(product_id)
            if have != want:
                diff = (
                    ", ".join(
                        f"{k} {getattr(have, k)}->{v}"
                        for k, v in asdict(want).items()
                        if getattr(have, k) != v
                    )
                    if have is not None
                    else "missing"
                )
                report.differences.append(f"product {product_id}: {diff}")
                changed.append(product_id)
        if dry_run:
            return report
        for record in stale_records:
            await _write_record(store, record, now, settings.order_ttl)
            report.records_written += 1
        for product_id in changed:
            await _write_counters(
                store, product_id, expected.counters[product_id], by_id.get(product_id)
            )
            report.products_written += 1
        if publish and changed:
            from inventory.seed import publish_levels

            await publish_levels(settings, await store.levels(changed))
    finally:
        await store.close()
    return report


async def _write_record(store: RedisStore, record: OrderRecord, now: datetime, ttl: int) -> None:
    last = max(c.at for c in (record.placed, record.outcome) if c is not None)
    left_ms = max(1, int((ttl - (now - last).total_seconds()) * 1000))
    key = store.order_key(record.order_id)
    async with store.client.pipeline(transaction=True) as pipe:
        pipe.delete(key)
        pipe.hset(key, mapping=dict(_record_fields(record)))  # type: ignore[arg-type]
        pipe.pexpire(key, left_ms)
        await pipe.execute()


async def _write_counters(
    store: RedisStore, product_id: str, counters: Counters, product: Product | None
) -> None:
    key = store.stock_key(product_id)
    seconds, micros = await store.client.time()
    now = int(seconds) * 1_000_000 + int(micros)
    last = int(await store.client.hget(key, "ts") or 0)
    mapping: dict[str, str] = {k: str(v) for k, v in asdict(counters).items()}
    mapping["ts"] = str(max(now, last + 1))
    if product is not None and not await store.client.hexists(key, "name"):
        mapping |= {"name": product.name, "price": str(product.price)}
    async with store.client.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping=mapping)  # type: ignore[arg-type]
        pipe.sadd(store.products_key, product_id)
        await pipe.execute()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m inventory reconcile",
        description="Rebuild inventory's Redis state (stock, order records) from the topics.",
    )
    p.add_argument("--dry-run", action="store_true", help="print the differences, change nothing")
    p.add_argument("--no-publish", action="store_true", help="do not publish changed levels")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: 0 when the store matches (or was made to), 1 on failure; a dry
    run that found differences exits 3."""
    args = parser().parse_args(argv)
    try:
        settings = load()
        report = asyncio.run(reconcile(settings, dry_run=args.dry_run, publish=not args.no_publish))
    except Exception as exc:
        print(f"inventory reconcile failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    for line in report.differences:
        print(line)
    verb = "would rewrite" if args.dry_run else "rewrote"
    records = sum(1 for d in report.differences if d.startswith("order "))
    products = len(report.differences) - records
    print(
        f"reconcile under {settings.key_prefix!r}: {report.orders_seen} orders in the topics; "
        f"{verb} {records} order records and {products} products"
    )
    return 3 if args.dry_run and report.differences else 0
