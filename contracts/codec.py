"""Bytes on the wire to events and back, with validation."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import msgspec

from contracts.events import (
    AnyEvent,
    AuditSummary,
    DeadLetter,
    Event,
    MinuteCountsUpdated,
    OrderEvent,
    PageViewed,
    StockLevel,
    TopProductsUpdated,
)

E = TypeVar("E", bound=Event)
OE = TypeVar("OE", bound=OrderEvent)

_encoder = msgspec.json.Encoder(decimal_format="string")
_decoder: msgspec.json.Decoder[AnyEvent] = msgspec.json.Decoder(AnyEvent)

#: Namespace for event ids derived from the event that caused them.
_DERIVED_NS = uuid.UUID("6f1c2b1e-5d0a-4a53-9a3e-8d1c5e7f2a90")


class ContractError(ValueError):
    """Bytes that are not a valid event: undecodable, unknown type, or invalid fields.

    This is the only error ``decode`` raises, so a consumer can route every bad
    message to the dead-letter queue with one ``except``.
    """


def encode(event: Event) -> bytes:
    """Serialize an event to its JSON wire form (compact UTF-8 bytes).

    The ``type`` field comes first; money is written as decimal strings, datetimes as
    RFC 3339 (UTC offsets keep minute precision only: produce UTC datetimes), ids as
    canonical UUID strings and ``bytes`` fields as base64. ``decode(encode(e)) == e``
    for every valid event. Encoding does not validate: a struct built in code is only
    checked by its money rule (see ``contracts.events``) and by the consumer's decode.
    """
    return _encoder.encode(event)


def decode(data: bytes | bytearray | memoryview | str) -> AnyEvent:
    """Parse and validate one wire message, choosing the class from its ``type``.

    ``data`` is the message value as received (UTF-8 JSON), or already-decoded text.
    Unknown fields are ignored (forward compatibility); missing optional fields take
    their defaults. Every constraint of the event classes is checked: types, id
    patterns and lengths, timezone-aware datetimes, currency codes, item counts and
    non-negative money.

    Raises ``ContractError``, and only that, for anything that is not a valid event of
    a known type: malformed or non-UTF-8 JSON, too deeply nested input, an unknown or
    missing ``type``, a missing or invalid field. A consumer routes every such message
    to the dead-letter queue with one ``except ContractError``. (Passing something that
    is not bytes or text at all is a programming error and raises ``TypeError``.)
    """
    try:
        return _decoder.decode(data)
    except (msgspec.DecodeError, UnicodeError, RecursionError) as exc:
        # UnicodeError: invalid UTF-8 inside a string, or lone surrogates in ``str`` input.
        # RecursionError: msgspec's answer to deeply nested input (even in unknown fields).
        raise ContractError(str(exc)) from exc


def decode_as(data: bytes | bytearray | memoryview | str, cls: type[E]) -> E:
    """Like ``decode``, but also require the event to be a ``cls`` (or a subclass).

    Raises ``ContractError`` when the message is invalid or is another event type, so
    a consumer of one topic can treat an unexpected type like any other bad message.
    """
    event = decode(data)
    if not isinstance(event, cls):
        raise ContractError(f"expected {cls.__name__}, got {type(event).__name__}")
    return event


def key_of(event: Event) -> bytes:
    """The Kafka key of an event, as the raw bytes the producer must send.

    Order events are keyed by their order id as UTF-8 bytes (every saga topic is
    co-partitioned on it). The others use their natural key: the page of a
    ``PageViewed``, the window kind of a ``TopProductsUpdated``, the analytics group of a
    ``MinuteCountsUpdated``, ``<group>:<partition>`` of an
    ``AuditSummary``, the original key of a ``DeadLetter``. Without one (an empty
    page, a dead letter whose message had no key), the event id is the key.
    """
    if isinstance(event, OrderEvent):
        return event.order_id.encode()
    if isinstance(event, PageViewed) and event.page:
        return event.page.encode()
    if isinstance(event, StockLevel):
        return event.product_id.encode()
    if isinstance(event, TopProductsUpdated):
        return event.window_kind.encode()
    if isinstance(event, MinuteCountsUpdated):
        return event.group.encode()
    if isinstance(event, AuditSummary):
        return f"{event.group}:{event.partition}".encode()
    if isinstance(event, DeadLetter) and event.key is not None:
        return bytes(event.key)
    return str(event.event_id).encode()


def derived_id(cause: Event | uuid.UUID | str, wire_type: str) -> uuid.UUID:
    """A deterministic event id for the ``wire_type`` event caused by ``cause``.

    ``cause`` is the causing event or its event id. The result is a UUID version 5
    of the cause's id and ``wire_type``: the same inputs always give the same id, and
    different reactions to one cause (different wire types) get different ids. A
    participant that reprocesses a redelivered event emits the same id again, so
    every downstream consumer can drop the duplicate by ``event_id``.
    """
    cause_id = cause.event_id if isinstance(cause, Event) else cause
    return uuid.uuid5(_DERIVED_NS, f"{cause_id}/{wire_type}")


def reaction(cause: OrderEvent, cls: type[OE], **fields: Any) -> OE:
    """Build the ``cls`` event that reacts to ``cause``.

    Carries ``order_id`` and ``correlation_id`` over, sets ``causation_id`` to the
    cause's event id and ``event_id`` to ``derived_id(cause, cls.wire_type())``, so
    handling a redelivered ``cause`` again builds an identical event (``occurred_at``
    aside, unless given). ``fields`` are the rest of ``cls``'s fields; an explicit
    ``event_id`` wins over the derived one. Like any struct constructor it raises
    ``ValueError`` for an invalid amount and ``TypeError`` for unknown or missing
    fields.

    Example: ``reaction(placed, PaymentAuthorized, user_id=placed.user_id,
    amount=placed.amount, currency=placed.currency)``.
    """
    fields.setdefault("event_id", derived_id(cause, cls.wire_type()))
    return cls(
        order_id=cause.order_id,
        correlation_id=cause.correlation_id,
        causation_id=str(cause.event_id),
        **fields,
    )
