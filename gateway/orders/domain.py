"""Pure order rules of the gateway: totals, request fingerprints, the OrderPlaced event."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from contracts import OrderLine, OrderPlaced

CENT = Decimal("0.01")


@dataclass(frozen=True)
class NewOrder:
    """A validated order request, before it is stored."""

    order_id: str
    user_id: str
    currency: str
    amount: Decimal
    lines: tuple[OrderLine, ...]


def lines_total(lines: Iterable[OrderLine]) -> Decimal:
    """The order total: sum of quantity × unit price, rounded half-up to the cent."""
    total = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    return total.quantize(CENT, rounding=ROUND_HALF_UP)


def amount_mismatch(amount: Decimal, lines: Iterable[OrderLine]) -> str | None:
    """Why ``amount`` does not match the lines' total to the cent, or ``None`` if it does."""
    total = lines_total(lines)
    if amount.quantize(CENT, rounding=ROUND_HALF_UP) != total or amount != amount.quantize(CENT):
        return f"amount {amount} does not match the items' total {total}"
    return None


def fingerprint(request: Mapping[str, Any]) -> str:
    """A stable hash of a normalized request body, to recognise a repeated request."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def order_placed(order: NewOrder, *, at: datetime) -> OrderPlaced:
    """The event that starts the saga; its correlation id is the order id."""
    return OrderPlaced(
        occurred_at=at,
        order_id=order.order_id,
        correlation_id=order.order_id,
        user_id=order.user_id,
        currency=order.currency,
        amount=order.amount,
        items=order.lines,
    )
