"""Which topic each event type is published to (``TOPIC_OF``, one visible table), and
which partition a key goes to (``partition_for``: Kafka's murmur2 partitioner)."""

from __future__ import annotations

import struct

from contracts.events import (
    AuditSummary,
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
    AUDIT,
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
    AuditSummary: AUDIT,
    DeadLetter: DLQ,
}


# -- the partitioner -------------------------------------------------------------------

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF
_words = struct.Struct("<I").iter_unpack


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of ``data`` (the Java client's ``Utils.murmur2``), as aiokafka's
    ``aiokafka.partitioner.murmur2`` computes it, about three times faster (whole 32-bit
    words unpacked at once, no redundant masks). A test checks both agree on many keys."""
    length = len(data)
    h = _SEED ^ length
    whole = length & ~3
    if whole:
        for (k,) in _words(memoryview(data)[:whole]):
            k = (k * _M) & _MASK
            k ^= k >> 24
            h = ((h * _M) & _MASK) ^ ((k * _M) & _MASK)
    extra = length & 3
    if extra:
        if extra == 3:
            h ^= data[whole + 2] << 16
        if extra >= 2:
            h ^= data[whole + 1] << 8
        h = ((h ^ data[whole]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (aiokafka's, the Java client's) gives
    ``key`` among ``partitions``: every producer of the platform must agree on it, or
    Faust tables stop being co-partitioned with their inputs."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
