"""Which topic each event type is published to: ``TOPIC_OF``, one visible table."""

from __future__ import annotations

from contracts.events import (
    DeadLetter,
    Event,
    InventoryRejected,
    InventoryReleased,
    InventoryReserved,
    OrderCancelled,
    OrderCompleted,
    OrderPlaced,
    PageViewed,
    PaymentAuthorized,
    PaymentDeclined,
    PaymentRefunded,
    TopProductsUpdated,
)
from contracts.topics import (
    DLQ,
    INVENTORY,
    ORDERS,
    OUTCOMES,
    PAGEVIEWS,
    PAYMENTS,
    SNAPSHOTS,
    TopicSpec,
)

#: The topic every event class is first published to, keyed by ``key_of(event)``.
#: Retry tiers carry copies of failed messages of any type and are not listed here.
TOPIC_OF: dict[type[Event], TopicSpec] = {
    OrderPlaced: ORDERS,
    PaymentAuthorized: PAYMENTS,
    PaymentDeclined: PAYMENTS,
    PaymentRefunded: PAYMENTS,
    InventoryReserved: INVENTORY,
    InventoryRejected: INVENTORY,
    InventoryReleased: INVENTORY,
    OrderCompleted: OUTCOMES,
    OrderCancelled: OUTCOMES,
    PageViewed: PAGEVIEWS,
    TopProductsUpdated: SNAPSHOTS,
    DeadLetter: DLQ,
}
