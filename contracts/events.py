"""The events of the saga: one frozen msgspec struct per wire type.

Every class carries the envelope (``event_id``, ``type`` with its version,
``occurred_at``, ``correlation_id``, ``causation_id``); order events add the
``order_id`` that is also their Kafka key. The wire ``type`` is the struct's tag,
so one ``decode`` picks the class. A compatible change adds an optional field;
a breaking change is a new ``.v2`` class emitted beside the old one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from types import UnionType
from typing import Annotated, Literal, Union, get_args, get_origin

import msgspec
from msgspec import Meta

#: Money at run time: a ``Decimal``. On the wire it is a JSON string, so no precision is
#: lost. It must be finite, not below zero (``-0`` is zero) and below 10**MONEY_DIGITS
#: (checked in ``__post_init__``: msgspec cannot bound a Decimal by annotation).
Money = Decimal
#: How many integer digits an amount may have: amounts stay below 10**12, so an order's
#: amount fits the read model's ``numeric(14, 2)`` and sums and ``quantity * unit_price``
#: stay exact in the default 28-digit decimal context.
MONEY_DIGITS = 12
#: The annotation of money fields: ``Money`` plus its wire form, for the JSON Schemas.
Amount = Annotated[
    Money,
    Meta(
        description=f"A non-negative decimal amount, sent as a string; at most {MONEY_DIGITS} "
        "integer digits.",
        # str(Decimal): digits, or a zero that may be negative ("-0.00"), then an exponent.
        extra_json_schema={"pattern": r"^([0-9]+(\.[0-9]+)?|-0(\.0+)?)(E[+-][0-9]+)?$"},
    ),
]
# msgspec checks patterns with ``re.search``, where ``$`` also matches before a trailing
# newline: ``(?!\n)`` rejects "o-1\n" (a different Kafka key) and means nothing in ECMA.
#: Identifiers chosen by clients (order, user, product): short printable strings.
Ident = Annotated[
    str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*(?!\n)$")
]
#: An ISO 4217 currency code, e.g. ``USD``.
Currency = Annotated[str, Meta(min_length=3, max_length=3, pattern=r"^[A-Z]{3}(?!\n)$")]
# Bounds of the read model's columns: a value the contract accepts, the database holds
# (checked against the Django models by gateway/projector/tests/test_bounds.py).
#: A PostgreSQL ``integer`` (Kafka partitions, counts, attempts).
INT32_MAX = 2**31 - 1
#: A PostgreSQL ``bigint`` (Kafka offsets).
INT64_MAX = 2**63 - 1
#: Text without NUL characters, which no PostgreSQL text or ``jsonb`` value can hold:
#: a message with one is rejected when decoded, so it is dead-lettered, never projected.
NO_NUL = r"^[^\x00]*$"
Quantity = Annotated[int, Meta(ge=1, le=10_000)]
AwareDatetime = Annotated[datetime, Meta(tz=True)]
Text = Annotated[str, Meta(max_length=2_000, pattern=NO_NUL)]
#: A name for people (a product's): the catalog's ``varchar(200)``.
Name = Annotated[str, Meta(max_length=200, pattern=NO_NUL)]
#: An exception's type name: the dead letters' ``varchar(200)``.
ErrorType = Annotated[str, Meta(max_length=200, pattern=NO_NUL)]
#: A Kafka topic or consumer group name: the dead letters' ``varchar(128)``.
KafkaName = Annotated[str, Meta(max_length=128, pattern=NO_NUL)]

#: Why an order was cancelled.
CancelReason = Literal["payment_declined", "out_of_stock", "timeout"]
#: How an order ended, as a notification tells it.
OutcomeKind = Literal["completed", "cancelled"]
Count = Annotated[int, Meta(ge=0, le=INT32_MAX)]
#: The windows analytics reports on.
WindowKind = Literal["tumbling_1m", "hopping_5m"]


def _new_id() -> uuid.UUID:
    return uuid.uuid4()


def _now() -> datetime:
    return datetime.now(UTC)


def _is_money(annotation: object) -> bool:
    if get_origin(annotation) is Annotated:
        return _is_money(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        return any(_is_money(arg) for arg in get_args(annotation))
    return annotation is Decimal


class _MoneyFields(dict[type, tuple[str, ...]]):
    """The money fields of each struct class, found once from its annotations."""

    def __missing__(self, cls: type) -> tuple[str, ...]:
        names = tuple(f.name for f in msgspec.structs.fields(cls) if _is_money(f.type))
        self[cls] = names
        return names


_MONEY_FIELDS = _MoneyFields()


def _check_money(name: str, value: object) -> None:
    if not isinstance(value, Decimal):
        if not isinstance(value, int | float):
            return  # not a number: msgspec rejects it when decoding
        value = Decimal(value)
    if not value.is_finite() or (
        (value.is_signed() or value.adjusted() >= MONEY_DIGITS) and not value.is_zero()
    ):
        raise ValueError(
            f"`{name}` must be a non-negative amount below 10**{MONEY_DIGITS}, got {value}"
        )


class _NonNegativeMoney:
    """Mixin: every money field (a ``Decimal``, annotated ``Amount``) must be a valid amount.

    The money fields of each class are looked up once (``_MONEY_FIELDS``), so decoding
    pays for the money fields only, not for a scan of every field.
    """

    __slots__ = ()

    def __post_init__(self) -> None:
        for name in _MONEY_FIELDS[type(self)]:
            _check_money(name, getattr(self, name))


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """The envelope every event carries.

    ``correlation_id`` ties together every event of one business flow (for an
    order, its order id's flow); ``causation_id`` is the ``event_id`` of the
    event this one reacts to (``None`` for the first event of a flow).
    """

    event_id: uuid.UUID = msgspec.field(default_factory=_new_id)
    occurred_at: AwareDatetime = msgspec.field(default_factory=_now)
    correlation_id: Ident
    causation_id: Ident | None = None

    @classmethod
    def wire_type(cls) -> str:
        """The versioned wire type of this class, e.g. ``order.placed.v1``."""
        tag = cls.__struct_config__.tag
        assert isinstance(tag, str)
        return tag


class OrderEvent(_NonNegativeMoney, Event, frozen=True, kw_only=True):
    """An event about one order; ``order_id`` is also its Kafka key."""

    order_id: Ident


# -- value objects -----------------------------------------------------------


class OrderLine(_NonNegativeMoney, msgspec.Struct, frozen=True, kw_only=True):
    """One line of an order: a product, how many, and the unit price."""

    product_id: Ident
    quantity: Quantity
    unit_price: Amount


class StockLine(msgspec.Struct, frozen=True, kw_only=True):
    """Units of one product reserved or released."""

    product_id: Ident
    quantity: Quantity


class Shortage(msgspec.Struct, frozen=True, kw_only=True):
    """A line that could not be reserved: what was asked and what was there."""

    product_id: Ident
    requested: Quantity
    available: Annotated[int, Meta(ge=0)]


class ProductStat(_NonNegativeMoney, msgspec.Struct, frozen=True, kw_only=True):
    """Units and revenue of one product within a window."""

    product_id: Ident
    units: Annotated[int, Meta(ge=0)]
    revenue: Amount


class PageStat(msgspec.Struct, frozen=True, kw_only=True):
    """Views of one page within a window."""

    page: Text
    views: Annotated[int, Meta(ge=0)]


class Attempt(msgspec.Struct, frozen=True, kw_only=True):
    """One failed processing attempt of a message, kept in its DLQ history."""

    at: AwareDatetime
    topic: str
    error_type: ErrorType
    error_message: Text


# -- the order flow ----------------------------------------------------------


class OrderPlaced(OrderEvent, frozen=True, kw_only=True, tag="order.placed.v1"):
    """A customer placed an order; published by the gateway's outbox relay."""

    user_id: Ident
    currency: Currency
    amount: Amount
    items: Annotated[tuple[OrderLine, ...], Meta(min_length=1, max_length=100)]


class PaymentAuthorized(OrderEvent, frozen=True, kw_only=True, tag="payment.authorized.v1"):
    """The customer was charged ``amount``."""

    user_id: Ident
    amount: Amount
    currency: Currency


class PaymentDeclined(OrderEvent, frozen=True, kw_only=True, tag="payment.declined.v1"):
    """No charge was made; ``reason`` says which rule declined it."""

    user_id: Ident
    amount: Amount
    currency: Currency
    reason: Text


class PaymentRefunded(OrderEvent, frozen=True, kw_only=True, tag="payment.refunded.v1"):
    """An authorized charge was given back (compensation of a cancelled order)."""

    user_id: Ident
    amount: Amount
    currency: Currency
    reason: Text


class InventoryReserved(OrderEvent, frozen=True, kw_only=True, tag="inventory.reserved.v1"):
    """Every line of the order was reserved."""

    items: tuple[StockLine, ...]


class InventoryRejected(OrderEvent, frozen=True, kw_only=True, tag="inventory.rejected.v1"):
    """Nothing was reserved; ``shortages`` names the lines that were short."""

    shortages: tuple[Shortage, ...]


class InventoryReleased(OrderEvent, frozen=True, kw_only=True, tag="inventory.released.v1"):
    """A reservation was given back (compensation of a cancelled order)."""

    items: tuple[StockLine, ...]


class OrderCompleted(OrderEvent, frozen=True, kw_only=True, tag="order.completed.v1"):
    """Payment and inventory both succeeded: the saga's positive outcome."""

    user_id: Ident
    amount: Amount
    currency: Currency


class OrderCancelled(OrderEvent, frozen=True, kw_only=True, tag="order.cancelled.v1"):
    """The saga's negative outcome; participants compensate what they did."""

    user_id: Ident
    reason: CancelReason
    detail: Text = ""


#: The saga's decision about an order: what ``orders.outcome.v1`` carries.
OrderOutcome = OrderCompleted | OrderCancelled


class NotificationSent(OrderEvent, frozen=True, kw_only=True, tag="notification.sent.v1"):
    """The customer was told how their order ended: one per outcome, on ``notifications.v1``."""

    user_id: Ident
    outcome: OutcomeKind
    channel: Text
    subject: Text
    body: Text


# -- participants' own state ---------------------------------------------------


class StockLevel(
    _NonNegativeMoney, Event, frozen=True, kw_only=True, tag="inventory.stock_level.v1"
):
    """A product's stock after a change, keyed by ``product_id`` on the compacted
    ``inventory.stock.v1``: ``available`` can be reserved, ``reserved`` is held for
    undecided orders, ``sold`` was committed by completed orders."""

    product_id: Ident
    name: Name
    price: Amount
    available: Count
    reserved: Count
    sold: Count


class DeadlineTick(Event, frozen=True, kw_only=True, tag="saga.tick.v1"):
    """A clock tick for one partition of ``saga.ticks.v1``: when it arrives, the saga
    checks the deadlines of the orders on that partition (Faust timers cannot write
    tables; a tick is an event, so its handler can)."""

    partition: Count


# -- analytics -----------------------------------------------------------------


class PageViewed(Event, frozen=True, kw_only=True, tag="page.viewed.v1"):
    """A dashboard page was loaded; keyed by ``page``."""

    page: Text
    session_id: Text = ""


class TopProductsUpdated(Event, frozen=True, kw_only=True, tag="analytics.top_products.v1"):
    """A snapshot of one window: top products by demand and by sales, and page views."""

    window_kind: WindowKind
    window_start: AwareDatetime
    window_end: AwareDatetime
    demand: tuple[ProductStat, ...] = ()
    sales: tuple[ProductStat, ...] = ()
    pageviews: tuple[PageStat, ...] = ()
    late_events: Count = 0


class MinuteCountsUpdated(Event, frozen=True, kw_only=True, tag="analytics.minute_counts.v1"):
    """One partition's complete counts for one minute of event time, on ``analytics.minutes.v1``.

    Analytics' step from counting (per partition of its inputs, on whichever worker owns
    it) to the one global merge that ranks the top N: every product and page of that
    partition and minute, never a top N (a top N of partial counts is not mergeable).
    Counts only grow, so a merge keeps the largest value per product and page, and a
    stale or repeated message changes nothing. Keyed by ``group``, the analytics consumer
    group that counted, so each group's merge reads its own and skips the others'.
    """

    group: Ident
    partition: Annotated[int, Meta(ge=0)]
    minute_start: AwareDatetime
    demand: tuple[ProductStat, ...] = ()
    sales: tuple[ProductStat, ...] = ()
    pageviews: tuple[PageStat, ...] = ()
    late_events: Annotated[int, Meta(ge=0)] = 0


# -- the live audit ----------------------------------------------------------------

#: What the auditor checks, one name per broken promise (``auditor.domain`` says when
#: an order breaks each), in the order the dashboard lists them.
AuditKind = Literal[
    "lost",
    "double_charged",
    "oversold",
    "duplicate_notices",
    "overdue",
    "wrong_charge",
    "stock_leak",
    "conflicting_outcomes",
]


class AuditedOrder(msgspec.Struct, frozen=True, kw_only=True):
    """An order that breaks at least one promise, and which."""

    order_id: Ident
    kinds: Annotated[tuple[AuditKind, ...], Meta(min_length=1, max_length=8)]


class AuditSummary(Event, frozen=True, kw_only=True, tag="audit.summary.v1"):
    """The auditor's verdict over one partition of the saga's topics, on the compacted
    ``audit.v1`` keyed by ``<group>:<partition>`` (the latest per partition is the state).

    ``orders`` is how many orders of the partition the auditor holds; each count is how
    many of them break that promise now (an order counts once per kind, however often
    its events are delivered); ``violations`` lists some of them (at most 50).
    ``checked_at`` is the time up to which the time-based checks (overdue, lost, charges
    and stock after the grace) are current: the wall clock when the auditor has caught up
    with the partition, else the time of the newest record it has read.
    """

    group: Ident
    partition: Count
    orders: Count
    pending: Count = 0
    checked_at: AwareDatetime | None = None
    lost: Count = 0
    double_charged: Count = 0
    oversold: Count = 0
    duplicate_notices: Count = 0
    overdue: Count = 0
    wrong_charge: Count = 0
    stock_leak: Count = 0
    conflicting_outcomes: Count = 0
    violations: Annotated[tuple[AuditedOrder, ...], Meta(max_length=50)] = ()


# -- failure handling ------------------------------------------------------------


class DeadLetter(Event, frozen=True, kw_only=True, tag="dlq.record.v1"):
    """A message that failed for good, with its original bytes and where it came from.

    ``key`` and ``value`` are the original bytes (base64 on the wire); ``headers``
    the original headers. ``history`` lists every failed attempt, oldest first.
    """

    original_topic: KafkaName
    partition: Count
    offset: Annotated[int, Meta(ge=0, le=INT64_MAX)]
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()
    consumer_group: KafkaName
    error_type: ErrorType
    error_message: Text
    error_stack: Annotated[str, Meta(max_length=20_000)] = ""
    failed_at: AwareDatetime
    attempts: Annotated[int, Meta(ge=1, le=INT32_MAX)]
    history: tuple[Attempt, ...] = ()


#: Every event class, in saga order. The codec decodes exactly these.
EVENT_TYPES: tuple[type[Event], ...] = (
    OrderPlaced,
    PaymentAuthorized,
    PaymentDeclined,
    PaymentRefunded,
    InventoryReserved,
    InventoryRejected,
    InventoryReleased,
    OrderCompleted,
    OrderCancelled,
    NotificationSent,
    StockLevel,
    DeadlineTick,
    PageViewed,
    TopProductsUpdated,
    MinuteCountsUpdated,
    AuditSummary,
    DeadLetter,
)

AnyEvent = (
    OrderPlaced
    | PaymentAuthorized
    | PaymentDeclined
    | PaymentRefunded
    | InventoryReserved
    | InventoryRejected
    | InventoryReleased
    | OrderCompleted
    | OrderCancelled
    | NotificationSent
    | StockLevel
    | DeadlineTick
    | PageViewed
    | TopProductsUpdated
    | MinuteCountsUpdated
    | AuditSummary
    | DeadLetter
)
