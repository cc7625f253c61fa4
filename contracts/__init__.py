"""Event contracts of the choreography saga: the envelope, every event type, topics, codec.

Imports neither Faust nor Django, so every service can use it::

    gateway --OrderPlaced--> orders.v1 --+--> payment   --PaymentAuthorized|Declined--> payments.v1 --+
                                         |                                                            |
                                         +--> inventory --InventoryReserved|Rejected--> inventory.v1 -+
                                                                                                      v
    notification, analytics, projector <-- orders.outcome.v1 <--OrderCompleted|OrderCancelled(reason)-- saga
                                                  |
                  payment --PaymentRefunded-->    +--> compensation: refund what was charged,
                  inventory --InventoryReleased-->      release what was reserved

Failures go through ``orders.retry.{1s,4s,16s}.v1`` to ``orders.dlq.v1`` (``DeadLetter``);
analytics reads ``analytics.pageviews.v1`` and writes ``analytics.snapshots.v1``.
"""

from contracts.codec import ContractError, decode, decode_as, derived_id, encode, key_of, reaction
from contracts.events import (
    EVENT_TYPES,
    AnyEvent,
    Attempt,
    DeadLetter,
    Event,
    InventoryRejected,
    InventoryReleased,
    InventoryReserved,
    OrderCancelled,
    OrderCompleted,
    OrderEvent,
    OrderLine,
    OrderPlaced,
    PageStat,
    PageViewed,
    PaymentAuthorized,
    PaymentDeclined,
    PaymentRefunded,
    ProductStat,
    Shortage,
    StockLine,
    TopProductsUpdated,
)

__all__ = [
    "EVENT_TYPES",
    "AnyEvent",
    "Attempt",
    "ContractError",
    "DeadLetter",
    "Event",
    "InventoryRejected",
    "InventoryReleased",
    "InventoryReserved",
    "OrderCancelled",
    "OrderCompleted",
    "OrderEvent",
    "OrderLine",
    "OrderPlaced",
    "PageStat",
    "PageViewed",
    "PaymentAuthorized",
    "PaymentDeclined",
    "PaymentRefunded",
    "ProductStat",
    "Shortage",
    "StockLine",
    "TopProductsUpdated",
    "decode",
    "decode_as",
    "derived_id",
    "encode",
    "key_of",
    "reaction",
]
