"""Which topic each event type is published to: ``TOPIC_OF``, one visible table."""

from __future__ import annotations

from contracts.events import (
    DeadLetter,
    DeadlineTick,
    Event,
    InventoryRejected,
    InventoryReleased,
    InventoryReserved,
    MinuteCountsUpdated,
    NotificationSent,
    OrderCancelled,
    OrderCompleted,
    OrderPlaced,
    PageViewed,
    PaymentAuthorized,
    PaymentDeclined,
    PaymentRefunded,
    StockLevel,
    TopProductsUpdated,
)
from contracts.topics import (
    DLQ,
    INVENTORY,
    MINUTES,
    NOTIFICATIONS,
    ORDERS,
    OUTCOMES,
    PAGEVIEWS,
    PAYMENTS,
    SAGA_TICKS,
    SNAPSHOTS,
    STOCK,
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
    NotificationSent: NOTIFICATIONS,
    StockLevel: STOCK,
    DeadlineTick: SAGA_TICKS,
    PageViewed: PAGEVIEWS,
    TopProductsUpdated: SNAPSHOTS,
    MinuteCountsUpdated: MINUTES,
    DeadLetter: DLQ,
}
