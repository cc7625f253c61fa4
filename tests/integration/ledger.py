"""Facts about a run, read back from the topics: charges, stock moves, notices, outcomes.

Independent of every service's internals: what the platform *did* is what it published.
Duplicates (redeliveries, replays) share an ``event_id`` and are counted once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import contracts
from tests.integration.support import read_topic


@dataclass
class RunFacts:
    charged: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    refunded: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    reserved: dict[str, dict[str, int]] = field(default_factory=dict)
    released: dict[str, dict[str, int]] = field(default_factory=dict)
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


def _distinct(bootstrap: str, topic: str) -> list[contracts.AnyEvent]:
    seen: dict[str, contracts.AnyEvent] = {}
    for record in read_topic(bootstrap, topic):
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
    for topic in ("orders.v1", "payments.v1", "inventory.v1", "orders.outcome.v1",
                  "notifications.v1", "inventory.stock.v1"):  # fmt: skip
        for event in _distinct(bootstrap, topic):
            facts.event_ids[f"{topic}/{event.event_id}"] = getattr(event, "order_id", None)
            match event:
                case contracts.OrderPlaced():
                    facts.placed[event.order_id] = event
                case contracts.PaymentAuthorized():
                    facts.charged[event.order_id] += event.amount
                case contracts.PaymentRefunded():
                    facts.refunded[event.order_id] += event.amount
                case contracts.InventoryReserved():
                    assert event.order_id not in facts.reserved, f"reserved twice: {event}"
                    facts.reserved[event.order_id] = _units(event.items)
                case contracts.InventoryReleased():
                    assert event.order_id not in facts.released, f"released twice: {event}"
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
