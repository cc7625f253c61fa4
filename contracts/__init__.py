"""Event contracts of the choreography saga: the envelope, every event type, topics, codec.

Imports neither Faust nor Django, so every service can use it::

    gateway --OrderPlaced--> orders.v1 --+--> payment   --PaymentAuthorized|Declined--> payments.v1
                                         +--> inventory --InventoryReserved|Rejected--> inventory.v1
                                                                                             |
    saga <-- payments.v1 + inventory.v1, per order, deadline ticks on saga.ticks.v1 <--------+
     |
     +--OrderCompleted|OrderCancelled(reason)--> orders.outcome.v1 --+--> notification, analytics
                                                                     |
                                                                     +--> on OrderCancelled:
        payment   --PaymentRefunded-->   payments.v1   (refund what was authorized)
        inventory --InventoryReleased--> inventory.v1  (release what was reserved)

The dashboard projector folds the events of every saga topic into the read model.
Analytics also counts demand from ``orders.v1`` and page views from
``analytics.pageviews.v1`` (``PageViewed``), and writes ``analytics.snapshots.v1``
(``TopProductsUpdated``), merging its per-partition counts through
``analytics.minutes.v1`` (``MinuteCountsUpdated``). Failures go through
``orders.retry.{1s,4s,16s}.v1`` to ``orders.dlq.v1`` (``DeadLetter``). The auditor reads
the saga topics and keeps its verdict per partition on ``audit.v1`` (``AuditSummary``).

``TOPIC_OF`` says which topic each event type goes to and ``key_of`` its key. The JSON
Schema of each wire type is in ``contracts/schemas/`` (``python -m contracts.schemas``
regenerates it, ``--check`` verifies it), and ``contracts/examples/`` keeps one committed
message per wire type that must keep decoding forever.
"""

from contracts.codec import ContractError, decode, decode_as, derived_id, encode, key_of, reaction
from contracts.events import (
    EVENT_TYPES,
    AnyEvent,
    Attempt,
    AuditedOrder,
    AuditKind,
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
    OrderEvent,
    OrderLine,
    OrderOutcome,
    OrderPlaced,
    PageStat,
    PageViewed,
    PaymentAuthorized,
    PaymentDeclined,
    PaymentRefunded,
    ProductStat,
    Shortage,
    StockLevel,
    StockLine,
    TopProductsUpdated,
)
from contracts.routing import TOPIC_OF

__all__ = [
    "EVENT_TYPES",
    "TOPIC_OF",
    "AnyEvent",
    "Attempt",
    "AuditKind",
    "AuditSummary",
    "AuditedOrder",
    "ContractError",
    "DeadLetter",
    "DeadlineTick",
    "Event",
    "InventoryRejected",
    "InventoryReleased",
    "InventoryReserved",
    "MinuteCountsUpdated",
    "NotificationSent",
    "OrderCancelled",
    "OrderCompleted",
    "OrderEvent",
    "OrderLine",
    "OrderOutcome",
    "OrderPlaced",
    "PageStat",
    "PageViewed",
    "PaymentAuthorized",
    "PaymentDeclined",
    "PaymentRefunded",
    "ProductStat",
    "Shortage",
    "StockLevel",
    "StockLine",
    "TopProductsUpdated",
    "decode",
    "decode_as",
    "derived_id",
    "encode",
    "key_of",
    "reaction",
]
