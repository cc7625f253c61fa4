"""Event factories and a recording fake publisher, for the tests of every service.

Plain msgspec and the standard library (no framework), so any test can build the
events it feeds a worker, the gateway or the dashboard with one vocabulary:

    order = order_placed(("p-a", 2), ("p-b", 1, "4.50"))
    answer = payment_authorized(order)            # a reaction: causation, derived id
    outcome = order_cancelled("order-7", reason="timeout")   # about an order id only

Every factory of an event about an order takes ``order``: either the ``OrderPlaced``
it reacts to (then it is built with ``contracts.reaction``: same order and correlation
ids, ``causation_id`` the order's event id, a derived ``event_id``, and user, amount and
currency taken from the order), or just an order id (then it carries no causation, a
fresh ``event_id``, and the given or default user, amount and currency). ``at`` sets
``occurred_at`` (default: now, or the reaction's default). Amounts may be given as
``str``, ``int`` or ``Decimal``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, TypeVar

from contracts.codec import reaction
from contracts.events import (
    Attempt,
    DeadLetter,
    DeadlineTick,
    Event,
    InventoryRejected,
    InventoryReleased,
    InventoryReserved,
    OrderCancelled,
    OrderCompleted,
    OrderEvent,
    OrderLine,
    OrderPlaced,
    PageViewed,
    PaymentAuthorized,
    PaymentDeclined,
    PaymentRefunded,
    Shortage,
    StockLine,
)

__all__ = [
    "DEAD_AT",
    "FLUSH",
    "T0",
    "RecordingPublisher",
    "dead_letter",
    "deadline_tick",
    "inventory_rejected",
    "inventory_released",
    "inventory_reserved",
    "new_order_id",
    "order_cancelled",
    "order_completed",
    "order_line",
    "order_placed",
    "page_viewed",
    "payment_authorized",
    "payment_declined",
    "payment_refunded",
]

#: A fixed instant for tests that want reproducible events.
T0: Final = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
#: What ``RecordingPublisher`` records for a flush, between the events around it.
FLUSH: Final = "flush"

DEFAULT_ORDER: Final = "order-1"
DEFAULT_USER: Final = "user-1"
DEFAULT_CURRENCY: Final = "EUR"
DEFAULT_AMOUNT: Final = Decimal("10.00")
#: The unit price of a line given as ``(product_id, quantity)``.
DEFAULT_UNIT_PRICE: Final = Decimal("1.00")

AmountLike = str | int | Decimal
#: An order line: an ``OrderLine``, ``(product_id, quantity)`` at ``DEFAULT_UNIT_PRICE``,
#: or ``(product_id, quantity, unit_price)``.
LineLike = OrderLine | tuple[str, int] | tuple[str, int, AmountLike]
#: Units of a product: a ``StockLine`` or ``(product_id, quantity)``.
StockLike = StockLine | tuple[str, int]
#: A shortage: a ``Shortage`` or ``(product_id, requested, available)``.
ShortageLike = Shortage | tuple[str, int, int]

OE = TypeVar("OE", bound=OrderEvent)
E = TypeVar("E", bound=Event)


def _money(value: AmountLike) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(value)


def new_order_id(prefix: str = "order") -> str:
    """A fresh order id, ``<prefix>-<12 hex digits>``, for tests sharing a broker."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def order_line(
    product_id: str = "p-1", quantity: int = 1, unit_price: AmountLike = "10.00"
) -> OrderLine:
    return OrderLine(product_id=product_id, quantity=quantity, unit_price=_money(unit_price))


def _line(spec: LineLike) -> OrderLine:
    if isinstance(spec, OrderLine):
        return spec
    if len(spec) == 2:
        return order_line(spec[0], spec[1], DEFAULT_UNIT_PRICE)
    product_id, quantity, unit_price = spec
    return order_line(product_id, quantity, unit_price)


def order_placed(
    *lines: LineLike,
    order_id: str = DEFAULT_ORDER,
    user_id: str = DEFAULT_USER,
    currency: str = DEFAULT_CURRENCY,
    amount: AmountLike | None = None,
    at: datetime | None = None,
    correlation_id: str | None = None,
) -> OrderPlaced:
    """An ``OrderPlaced`` of ``lines``; ``amount`` defaults to their total.

    Without lines: one line of product ``p-1``, one unit at ``amount`` (default 10.00).
    """
    if lines:
        items = tuple(_line(spec) for spec in lines)
    else:
        items = (order_line(unit_price=DEFAULT_AMOUNT if amount is None else amount),)
    total = sum((i.quantity * i.unit_price for i in items), Decimal(0))
    fields: dict[str, Any] = {} if at is None else {"occurred_at": at}
    return OrderPlaced(
        order_id=order_id,
        correlation_id=order_id if correlation_id is None else correlation_id,
        user_id=user_id,
        currency=currency,
        amount=total if amount is None else _money(amount),
        items=items,
        **fields,
    )


def _about(order: OrderPlaced | str, cls: type[OE], at: datetime | None, **fields: Any) -> OE:
    """``cls`` about ``order``: a reaction to an ``OrderPlaced``, or an event of an order id."""
    if at is not None:
        fields["occurred_at"] = at
    if isinstance(order, OrderPlaced):
        return reaction(order, cls, **fields)
    return cls(order_id=order, correlation_id=order, **fields)


def _charge(
    order: OrderPlaced | str,
    user_id: str | None,
    amount: AmountLike | None,
    currency: str | None,
) -> dict[str, Any]:
    """User, amount and currency: as given, else the order's, else the defaults."""
    placed = order if isinstance(order, OrderPlaced) else None
    return {
        "user_id": user_id or (placed.user_id if placed else DEFAULT_USER),
        "amount": _money(amount)
        if amount is not None
        else (placed.amount if placed else DEFAULT_AMOUNT),
        "currency": currency or (placed.currency if placed else DEFAULT_CURRENCY),
    }


def payment_authorized(
    order: OrderPlaced | str = DEFAULT_ORDER,
    *,
    at: datetime | None = None,
    user_id: str | None = None,
    amount: AmountLike | None = None,
    currency: str | None = None,
) -> PaymentAuthorized:
    return _about(order, PaymentAuthorized, at, **_charge(order, user_id, amount, currency))


def payment_declined(
    order: OrderPlaced | str = DEFAULT_ORDER,
    reason: str = "credit_limit_exceeded",
    *,
    at: datetime | None = None,
    user_id: str | None = None,
    amount: AmountLike | None = None,
    currency: str | None = None,
) -> PaymentDeclined:
    return _about(
        order, PaymentDeclined, at, reason=reason, **_charge(order, user_id, amount, currency)
    )


def payment_refunded(
    order: OrderPlaced | str = DEFAULT_ORDER,
    reason: str = "out_of_stock",
    *,
    at: datetime | None = None,
    user_id: str | None = None,
    amount: AmountLike | None = None,
    currency: str | None = None,
) -> PaymentRefunded:
    return _about(
        order, PaymentRefunded, at, reason=reason, **_charge(order, user_id, amount, currency)
    )


def _stock(order: OrderPlaced | str, items: Iterable[StockLike]) -> tuple[StockLine, ...]:
    given = tuple(
        i if isinstance(i, StockLine) else StockLine(product_id=i[0], quantity=i[1]) for i in items
    )
    if given or not isinstance(order, OrderPlaced):
        return given
    return tuple(StockLine(product_id=i.product_id, quantity=i.quantity) for i in order.items)


def inventory_reserved(
    order: OrderPlaced | str = DEFAULT_ORDER, *items: StockLike, at: datetime | None = None
) -> InventoryReserved:
    """Every line reserved: ``items``, by default the order's lines."""
    return _about(order, InventoryReserved, at, items=_stock(order, items))


def inventory_released(
    order: OrderPlaced | str = DEFAULT_ORDER, *items: StockLike, at: datetime | None = None
) -> InventoryReleased:
    """A reservation given back: ``items``, by default the order's lines."""
    return _about(order, InventoryReleased, at, items=_stock(order, items))


def inventory_rejected(
    order: OrderPlaced | str = DEFAULT_ORDER,
    *shortages: ShortageLike,
    at: datetime | None = None,
) -> InventoryRejected:
    """Nothing reserved: ``shortages``, by default every line of the order with none in stock."""
    short = tuple(
        s if isinstance(s, Shortage) else Shortage(product_id=s[0], requested=s[1], available=s[2])
        for s in shortages
    )
    if not short and isinstance(order, OrderPlaced):
        short = tuple(
            Shortage(product_id=i.product_id, requested=i.quantity, available=0)
            for i in order.items
        )
    return _about(order, InventoryRejected, at, shortages=short)


def order_completed(
    order: OrderPlaced | str = DEFAULT_ORDER,
    *,
    at: datetime | None = None,
    user_id: str | None = None,
    amount: AmountLike | None = None,
    currency: str | None = None,
) -> OrderCompleted:
    return _about(order, OrderCompleted, at, **_charge(order, user_id, amount, currency))


def order_cancelled(
    order: OrderPlaced | str = DEFAULT_ORDER,
    reason: str = "timeout",
    detail: str = "",
    *,
    at: datetime | None = None,
    user_id: str | None = None,
) -> OrderCancelled:
    user = user_id or (order.user_id if isinstance(order, OrderPlaced) else DEFAULT_USER)
    fields: dict[str, Any] = {"detail": detail} if detail else {}
    return _about(order, OrderCancelled, at, user_id=user, reason=reason, **fields)


def deadline_tick(
    partition: int = 0, at: datetime | None = None, *, correlation_id: str = "saga-ticker"
) -> DeadlineTick:
    """The saga's clock tick for ``partition``, at ``at`` (default now)."""
    fields: dict[str, Any] = {} if at is None else {"occurred_at": at}
    return DeadlineTick(correlation_id=correlation_id, partition=partition, **fields)


def page_viewed(page: str = "/", at: datetime | None = None, *, session: str = "s-1") -> PageViewed:
    """A page view; ``session`` is its correlation id."""
    fields: dict[str, Any] = {} if at is None else {"occurred_at": at}
    return PageViewed(correlation_id=session, page=page, **fields)


#: When the default dead letter failed.
DEAD_AT: Final = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def dead_letter(**overrides: Any) -> DeadLetter:
    """A dead-lettered ``orders.v1`` message of order ``o-1`` (payment timed out four
    times, at ``DEAD_AT``); ``overrides`` replace any field. A fresh ``event_id`` each time."""
    fields: dict[str, Any] = {
        "correlation_id": "o-1",
        "original_topic": "orders.v1",
        "partition": 3,
        "offset": 41,
        "key": b"o-1",
        "value": b'{"type": "order.placed.v1", "order_id": "o-1"}',
        "headers": (("traceparent", b"00-abc-01"),),
        "consumer_group": "payment",
        "error_type": "TimeoutError",
        "error_message": "bank did not answer",
        "error_stack": "Traceback ...",
        "failed_at": DEAD_AT,
        "attempts": 4,
        "history": tuple(
            Attempt(
                at=DEAD_AT - timedelta(seconds=21 - i),
                topic=t,
                error_type="TimeoutError",
                error_message="bank did not answer",
            )
            for i, t in enumerate(["orders.v1", "orders.retry.1s.v1", "orders.retry.4s.v1"])
        ),
    }
    fields.update(overrides)
    fields.setdefault("event_id", uuid.uuid4())
    return DeadLetter(**fields)


class RecordingPublisher(list[Event | str]):
    """A fake ``Publish`` (``await publisher(event)``) and producer flush
    (``await publisher.flush()``): the list of what was done, in order, each event
    as itself and each flush as ``FLUSH``."""

    async def __call__(self, event: Event) -> None:
        self.append(event)

    async def flush(self) -> None:
        self.append(FLUSH)

    def events(self) -> list[Event]:
        """What was published, without the flushes."""
        return [e for e in self if isinstance(e, Event)]

    def of(self, cls: type[E]) -> list[E]:
        """What was published of type ``cls``."""
        return [e for e in self if isinstance(e, cls)]
