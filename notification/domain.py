"""Customer notifications, pure: what the customer is told about each order, and only once.

Per order the worker keeps one ``NoticeRecord`` and reacts to two kinds of events::

    observe(record, PaymentAuthorized | PaymentDeclined | PaymentRefunded) -> record
    notify(record, OrderCompleted | OrderCancelled)                        -> NoticeStep

- ``observe`` gathers the payment facts of an order (``Awaiting``) until its outcome.
- ``notify`` composes the one notice of the order's outcome, a ``NotificationSent``,
  and replaces the facts with a small ``Notified`` marker. Any later outcome of the
  order (a redelivery, a replay, a contradicting second outcome) notifies nothing;
  later payment events change nothing.

The notices. ``OrderCompleted``: "order confirmed", with the amount charged.
``OrderCancelled``: "order cancelled", why (the reason in words, and the saga's
detail), and what happens to the money, from the payment facts known at that moment:

1. a ``PaymentRefunded`` was seen          -> "We have refunded 30.00 EUR."
2. a ``PaymentAuthorized``, no refund yet  -> "A refund of 30.00 EUR is on its way."
   (payment refunds every authorization of a cancelled order; the refund event often
   arrives just after the outcome, and the notice is not held back for it)
3. a ``PaymentDeclined``                   -> "You have not been charged."
4. no payment event yet                    -> "No payment was taken for this order; should
   one still go through, it will be refunded automatically." (payment was behind: a late
   authorization of a cancelled order is refunded at once)

The notice's ``event_id`` derives from the outcome's (``contracts.reaction``), so a
notice composed again after a crash carries the same id, and the dashboard shows it
once. Its ``channel`` names the sender that delivers it (``console``, ``email``).

Retention: a record is forgotten ``retention`` after its last change (a day by default:
markers are small). An outcome older than the retention that finds no record is stale
and notifies nothing, since it may have been notified and forgotten: so a redelivery or
an offset replay never notifies a customer twice, and the cost is that an outcome the
worker only reads more than ``retention`` after it happened (the worker was down that
long) is not notified either. Payment events without a record older than the retention
are ignored likewise.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

import msgspec

from contracts import (
    NotificationSent,
    OrderCompleted,
    OrderOutcome,
    PaymentAuthorized,
    PaymentDeclined,
    PaymentRefunded,
    reaction,
)

#: The payment events whose facts a cancellation notice reports.
PaymentEvent = PaymentAuthorized | PaymentDeclined | PaymentRefunded
#: The saga's outcomes: one notice each.

#: A day: see the module docstring.
DEFAULT_RETENTION = timedelta(days=1)
#: The saga's detail is clipped to this many characters in a notice (bodies stay short).
DETAIL_LIMIT = 500

#: The cancellation reasons, as told to the customer.
REASONS = {
    "payment_declined": "your payment was declined",
    "out_of_stock": "some items are out of stock",
    "timeout": "we could not confirm it in time",
}


class Awaiting(msgspec.Struct, frozen=True, array_like=True, tag="a"):
    """The payment facts of an order whose outcome was not notified yet.

    The first event of each kind counts (participants re-emit identical events).
    """

    changed_at: datetime
    currency: str | None = None
    #: The amount authorized (charged).
    charged: Decimal | None = None
    #: The decline reason.
    declined: str | None = None
    #: The amount refunded.
    refunded: Decimal | None = None


class Notified(msgspec.Struct, frozen=True, array_like=True, tag="n"):
    """The marker of an order whose outcome the customer was told about."""

    changed_at: datetime
    #: The ``event_id`` of the ``NotificationSent``.
    notice_id: uuid.UUID


#: The value of the notification table for one order.
NoticeRecord = Awaiting | Notified


class NoticeStep(NamedTuple):
    """What an outcome leads to: the record to keep, and the notice to send (or ``None``).

    ``record`` is the very object passed in when nothing changed, and ``None`` only when
    there was none and the outcome was stale.
    """

    record: NoticeRecord | None
    notice: NotificationSent | None


def observe(
    record: NoticeRecord | None,
    event: PaymentEvent,
    *,
    at: datetime | None = None,
    retention: timedelta = DEFAULT_RETENTION,
) -> NoticeRecord | None:
    """Record the facts of a payment ``event``; return the record to keep.

    Unchanged (the same object) after the notice, for a fact already known, and for a
    stale event without a record (then ``None``). ``at`` is now (the current time
    when omitted).
    """
    now = _utc(at)
    if isinstance(record, Notified):
        return record
    if record is None:
        if event.occurred_at < now - retention:
            return None
        record = Awaiting(changed_at=now)
    changes: dict[str, object] = {}
    if record.currency is None:
        changes["currency"] = event.currency
    if isinstance(event, PaymentAuthorized) and record.charged is None:
        changes["charged"] = event.amount
    elif isinstance(event, PaymentDeclined) and record.declined is None:
        changes["declined"] = event.reason
    elif isinstance(event, PaymentRefunded) and record.refunded is None:
        changes["refunded"] = event.amount
    if not changes:
        return record
    return msgspec.structs.replace(record, changed_at=now, **changes)


def notify(
    record: NoticeRecord | None,
    outcome: OrderOutcome,
    *,
    channel: str,
    at: datetime | None = None,
    retention: timedelta = DEFAULT_RETENTION,
) -> NoticeStep:
    """The notice of ``outcome`` (sent over ``channel``), unless the order was notified.

    The first outcome of an order is notified, with the payment facts in ``record``; the
    record becomes a ``Notified`` marker. Every later outcome of the order gets no notice.
    Without a record, an outcome older than ``retention`` is stale and gets none either.
    """
    now = _utc(at)
    if isinstance(record, Notified):
        return NoticeStep(record, None)
    if record is None and outcome.occurred_at < now - retention:
        return NoticeStep(None, None)
    notice = compose(outcome, record or Awaiting(changed_at=now), channel=channel, at=now)
    return NoticeStep(Notified(changed_at=now, notice_id=notice.event_id), notice)


def compose(
    outcome: OrderOutcome, facts: Awaiting, *, channel: str, at: datetime | None = None
) -> NotificationSent:
    """The ``NotificationSent`` telling the customer about ``outcome``, given ``facts``."""
    order = outcome.order_id
    if isinstance(outcome, OrderCompleted):
        kind = "completed"
        subject = f"Order {order} confirmed"
        body = (
            f"Hello {outcome.user_id},\n"
            f"your order {order} is confirmed. "
            f"We charged {_money(outcome.amount, outcome.currency)}.\n"
            "Thank you for your order."
        )
    else:
        kind = "cancelled"
        subject = f"Order {order} cancelled"
        why = REASONS.get(outcome.reason, outcome.reason)
        detail = f"\nDetails: {_clip(outcome.detail)}" if outcome.detail else ""
        body = (
            f"Hello {outcome.user_id},\n"
            f"we are sorry: your order {order} was cancelled because {why}.{detail}\n"
            f"{money_sentence(facts)}"
        )
    return reaction(
        outcome,
        NotificationSent,
        occurred_at=_utc(at),
        user_id=outcome.user_id,
        outcome=kind,
        channel=channel,
        subject=subject,
        body=body,
    )


def money_sentence(facts: Awaiting) -> str:
    """What a cancellation notice says about the money (the policy in the module docstring)."""
    currency = facts.currency or ""
    if facts.refunded is not None:
        return f"We have refunded {_money(facts.refunded, currency)}."
    if facts.charged is not None:
        return f"A refund of {_money(facts.charged, currency)} is on its way."
    if facts.declined is not None:
        return "You have not been charged."
    return (
        "No payment was taken for this order; should one still go through, "
        "it will be refunded automatically."
    )


def email_address(user_id: str, domain: str) -> str:
    """The e-mail address of a customer: the contracts carry user ids, not addresses."""
    return f"{user_id}@{domain}"


def forget_at(record: NoticeRecord, retention: timedelta = DEFAULT_RETENTION) -> datetime:
    """When ``record`` may be deleted from the table."""
    return record.changed_at + retention


_encoder = msgspec.msgpack.Encoder(decimal_format="string", uuid_format="bytes")
_decoder: msgspec.msgpack.Decoder[NoticeRecord] = msgspec.msgpack.Decoder(NoticeRecord)


def dump_record(record: NoticeRecord) -> bytes:
    """A record as the bytes kept in the table and its changelog (MessagePack)."""
    return _encoder.encode(record)


def load_record(data: bytes) -> NoticeRecord:
    """The record ``dump_record`` wrote."""
    return _decoder.decode(data)


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount} {currency}".strip()


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= DETAIL_LIMIT else text[: DETAIL_LIMIT - 1] + "…"


def _utc(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    if at.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return at.astimezone(UTC)
