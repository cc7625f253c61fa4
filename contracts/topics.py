"""Every Kafka topic of the platform, named and sized once."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Every saga topic has the same partition count so that Faust tables keyed by
#: order id are co-partitioned with all of their inputs (three workers own two each).
DEFAULT_PARTITIONS = 6


@dataclass(frozen=True)
class TopicSpec:
    """A topic the project creates itself (broker auto-create is off)."""

    name: str
    partitions: int = DEFAULT_PARTITIONS
    configs: dict[str, str] = field(default_factory=dict)


_WEEK_MS = str(7 * 24 * 3600 * 1000)

ORDERS = TopicSpec("orders.v1", configs={"retention.ms": _WEEK_MS})
PAYMENTS = TopicSpec("payments.v1", configs={"retention.ms": _WEEK_MS})
INVENTORY = TopicSpec("inventory.v1", configs={"retention.ms": _WEEK_MS})
OUTCOMES = TopicSpec("orders.outcome.v1", configs={"retention.ms": _WEEK_MS})
NOTIFICATIONS = TopicSpec("notifications.v1", configs={"retention.ms": _WEEK_MS})
#: Latest stock level per product (keyed by product id): compacted, so it is a table.
STOCK = TopicSpec("inventory.stock.v1", configs={"cleanup.policy": "compact"})
#: Deadline ticks for the saga: keyed by order id, co-partitioned with the saga's inputs.
SAGA_TICKS = TopicSpec("saga.ticks.v1", configs={"retention.ms": str(24 * 3600 * 1000)})
RETRY_1S = TopicSpec("orders.retry.1s.v1", configs={"retention.ms": _WEEK_MS})
RETRY_4S = TopicSpec("orders.retry.4s.v1", configs={"retention.ms": _WEEK_MS})
RETRY_16S = TopicSpec("orders.retry.16s.v1", configs={"retention.ms": _WEEK_MS})
#: Dead letters are kept until an operator redrives or discards them.
DLQ = TopicSpec("orders.dlq.v1", configs={"retention.ms": "-1"})
PAGEVIEWS = TopicSpec("analytics.pageviews.v1", configs={"retention.ms": _WEEK_MS})
SNAPSHOTS = TopicSpec("analytics.snapshots.v1", configs={"retention.ms": _WEEK_MS})
#: Analytics' own step from per-partition counts to the global merge (a day is plenty:
#: the counting side republishes whatever the merge has not seen after a restart).
MINUTES = TopicSpec("analytics.minutes.v1", configs={"retention.ms": str(24 * 3600 * 1000)})

#: The auditor's latest verdict per partition (keyed by ``<group>:<partition>``): compacted.
AUDIT = TopicSpec("audit.v1", configs={"cleanup.policy": "compact"})

RETRY_TIERS: tuple[TopicSpec, ...] = (RETRY_1S, RETRY_4S, RETRY_16S)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    ORDERS,
    PAYMENTS,
    INVENTORY,
    OUTCOMES,
    NOTIFICATIONS,
    STOCK,
    SAGA_TICKS,
    *RETRY_TIERS,
    DLQ,
    PAGEVIEWS,
    SNAPSHOTS,
    MINUTES,
    AUDIT,
)

#: The topics whose events make up an order's timeline, in saga order.
SAGA_TOPICS: tuple[TopicSpec, ...] = (ORDERS, PAYMENTS, INVENTORY, OUTCOMES, NOTIFICATIONS)

#: Where a redrive may send a dead letter back to: the topics the consumer groups read
#: events from. Not the compacted stock table (an old level redriven would become the
#: latest), the retry tiers or the DLQ, nor any topic outside this module (a changelog,
#: an internal topic): a dead letter naming one is refused, never redriven there.
REDRIVE_TARGETS: tuple[TopicSpec, ...] = (
    *SAGA_TOPICS,
    SAGA_TICKS,
    PAGEVIEWS,
    SNAPSHOTS,
    MINUTES,
)


def by_name(name: str) -> TopicSpec:
    """Return the spec of a project topic, or raise KeyError naming the known topics."""
    for spec in ALL_TOPICS:
        if spec.name == name:
            return spec
    known = ", ".join(t.name for t in ALL_TOPICS)
    raise KeyError(f"unknown topic {name!r}; known topics: {known}")
