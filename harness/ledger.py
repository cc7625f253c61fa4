"""Facts about a run, read back from the topics: charges, stock moves, notices, outcomes;
and the invariants a run must keep (`check`), whatever faults it went through.

Independent of every service's internals: what the platform *did* is what it published.
The rules an order is judged by (double charge, net charge, reservation balance) are the
live auditor's (``auditor.domain``): one home for each, this module applies them to a
finished run, with what only a run knows (the orders the gateway accepted, the API).
Duplicates (redeliveries, replays) share an ``event_id`` and are counted once. Used by
`sagactl chaos` and the tests.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

import contracts
from auditor.domain import double_charged, expected_net_charge, reservation_problem

#: The topics whose events make up the facts, in the order they are read.
FACT_TOPICS = (
    "orders.v1",
    "payments.v1",
    "inventory.v1",
    "orders.outcome.v1",
    "notifications.v1",
    "inventory.stock.v1",
)


@dataclass
class RunFacts:
    charged: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    refunded: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    reserved: dict[str, dict[str, int]] = field(default_factory=dict)
    released: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Orders with a second, distinct reservation or release (never allowed).
    reserved_twice: set[str] = field(default_factory=set)
    released_twice: set[str] = field(default_factory=set)
    #: Distinct authorizations per order (more than one is a double charge).
    authorizations: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    outcomes: dict[str, list[contracts.OrderCompleted | contracts.OrderCancelled]] = field(
        default_factory=lambda: defaultdict(list)
    )
    notices: dict[str, list[contracts.NotificationSent]] = field(
        default_factory=lambda: defaultdict(list)
    )
    placed: dict[str, contracts.OrderPlaced] = field(default_factory=dict)
    stock: dict[str, contracts.StockLevel] = field(default_factory=dict)
    #: "topic/event_id" -> the order it is about (None for stock levels)
    event_ids: dict[str, str | None] = field(default_factory=dict)

    def net_charge(self, order_id: str) -> Decimal:
        return self.charged[order_id] - self.refunded[order_id]


def read_topic(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record currently in ``topic``, all partitions, without a consumer group."""
    servers = [s.strip() for s in bootstrap.split(",") if s.strip()]

    async def read() -> list[ConsumerRecord[bytes, bytes]]:
        consumer = AIOKafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
        await consumer.start()
        try:
            numbers = consumer.partitions_for_topic(topic)
            if numbers is None:
                await consumer._client.force_metadata_update()
                numbers = consumer.partitions_for_topic(topic) or set()
            partitions = [TopicPartition(topic, p) for p in sorted(numbers)]
            if not partitions:
                return []
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            records: list[ConsumerRecord[bytes, bytes]] = []
            remaining = {tp for tp in partitions if ends[tp] > 0}
            while remaining:
                batch = await consumer.getmany(*remaining, timeout_ms=1000)
                for tp, items in batch.items():
                    records.extend(items)
                    if items and items[-1].offset + 1 >= ends[tp]:
                        remaining.discard(tp)
            return records
        finally:
            await consumer.stop()

    return asyncio.run(read())


def _distinct(bootstrap: str, topic: str) -> list[contracts.AnyEvent]:
    seen: dict[str, contracts.AnyEvent] = {}
    for record in read_topic(bootstrap, topic):
        if record.value is None:
            continue  # a tombstone put there on purpose (test_hostile_kafka): not an event
        try:
            event = contracts.decode(record.value)
        except contracts.ContractError:
            continue  # poison put there on purpose (test_failures): the DLQ has it
        seen.setdefault(str(event.event_id), event)
    return list(seen.values())


def _units(items: tuple[contracts.StockLine, ...]) -> dict[str, int]:
    return {line.product_id: line.quantity for line in items}


def collect(bootstrap: str) -> RunFacts:
    facts = RunFacts()
    for topic in FACT_TOPICS:
        for event in _distinct(bootstrap, topic):
            facts.event_ids[f"{topic}/{event.event_id}"] = getattr(event, "order_id", None)
            match event:
                case contracts.OrderPlaced():
                    facts.placed[event.order_id] = event
                case contracts.PaymentAuthorized():
                    facts.charged[event.order_id] += event.amount
                    facts.authorizations[event.order_id] += 1
                case contracts.PaymentRefunded():
                    facts.refunded[event.order_id] += event.amount
                case contracts.InventoryReserved():
                    if event.order_id in facts.reserved:
                        facts.reserved_twice.add(event.order_id)
                    facts.reserved[event.order_id] = _units(event.items)
                case contracts.InventoryReleased():
                    if event.order_id in facts.released:
                        facts.released_twice.add(event.order_id)
                    facts.released[event.order_id] = _units(event.items)
                case contracts.OrderCompleted() | contracts.OrderCancelled():
                    facts.outcomes[event.order_id].append(event)
                case contracts.NotificationSent():
                    facts.notices[event.order_id].append(event)
                case contracts.StockLevel():
                    latest = facts.stock.get(event.product_id)
                    if latest is None or event.occurred_at >= latest.occurred_at:
                        facts.stock[event.product_id] = event
    return facts


#: Every invariant `check` counts, in the order a report prints them.
VIOLATIONS = (
    "lost",
    "stuck",
    "double_charged",
    "wrong_net_charge",
    "oversold",
    "leaked_reservations",
    "wrong_notices",
    "read_model_mismatch",
)


@dataclass
class Verdict:
    """The figures of a run and, per invariant, the orders (or products) that break it."""

    figures: dict[str, int] = field(default_factory=dict)
    violations: dict[str, list[str]] = field(
        default_factory=lambda: {name: [] for name in VIOLATIONS}
    )

    @property
    def ok(self) -> bool:
        return not any(self.violations.values())

    def counts(self) -> dict[str, int]:
        return {name: len(items) for name, items in self.violations.items()}


def check(
    facts: RunFacts,
    accepted: Iterable[str],
    api_orders: Mapping[str, Mapping[str, Any]],
    *,
    stock_before: Mapping[str, int] | None = None,
) -> Verdict:
    """The invariants over the orders ``accepted`` (by the gateway) in this run.

    ``api_orders``: each order as ``GET /api/orders/<id>`` answered (missing: not found).
    ``stock_before``: each product's ``available`` when the run began (for oversold).
    """
    verdict = Verdict()
    v = verdict.violations
    accepted = sorted(set(accepted))
    completed = cancelled = 0
    for order_id in accepted:
        if order_id not in facts.placed:
            v["lost"].append(order_id)
            continue
        outcomes = facts.outcomes.get(order_id, [])
        if not outcomes:
            v["stuck"].append(order_id)
            continue
        kinds = {type(o).__name__ for o in outcomes}
        if len(outcomes) > 1:
            v["wrong_notices"].append(f"{order_id}: {len(outcomes)} outcomes")
        outcome = outcomes[0]
        done = isinstance(outcome, contracts.OrderCompleted)
        completed += done
        cancelled += not done
        if double_charged(facts.authorizations.get(order_id, 0)):
            v["double_charged"].append(order_id)
        wanted = expected_net_charge(done, facts.placed[order_id].amount)
        if len(kinds) == 1 and facts.net_charge(order_id) != wanted:
            v["wrong_net_charge"].append(
                f"{order_id}: net {facts.net_charge(order_id)}, wanted {wanted}"
            )
        problem = reservation_problem(
            done,
            (order_id in facts.reserved) + (order_id in facts.reserved_twice),
            (order_id in facts.released) + (order_id in facts.released_twice),
        )
        if problem is not None:
            v["leaked_reservations"].append(f"{order_id}: {problem}")
        notices = facts.notices.get(order_id, [])
        if len(notices) != 1:
            v["wrong_notices"].append(f"{order_id}: {len(notices)} notices")
        api = api_orders.get(order_id)
        status = "COMPLETED" if done else "CANCELLED"
        if api is None or api.get("status") != status:
            got = None if api is None else api.get("status")
            v["read_model_mismatch"].append(f"{order_id}: API says {got}, topics {status}")
    sold: dict[str, int] = defaultdict(int)
    for order_id in accepted:
        outcomes = facts.outcomes.get(order_id, [])
        if outcomes and isinstance(outcomes[0], contracts.OrderCompleted):
            for product, units in facts.reserved.get(order_id, {}).items():
                sold[product] += units
    for product, level in facts.stock.items():
        if level.reserved and all(facts.outcomes.get(o) for o in accepted):
            v["leaked_reservations"].append(f"{product}: {level.reserved} units still reserved")
    if stock_before is not None:
        for product, units in sold.items():
            if units > stock_before.get(product, 0):
                v["oversold"].append(f"{product}: sold {units} of {stock_before.get(product)}")
    verdict.figures = {
        "accepted": len(accepted),
        "completed": completed,
        "cancelled": cancelled,
        "charged_orders": sum(1 for o in accepted if facts.charged.get(o)),
        "refunded_orders": sum(1 for o in accepted if facts.refunded.get(o)),
        "notices": sum(len(facts.notices.get(o, [])) for o in accepted),
    }
    return verdict
