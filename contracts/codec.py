"""Bytes on the wire to events and back, with validation."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import msgspec

from contracts.events import AnyEvent, Event, OrderEvent

E = TypeVar("E", bound=Event)

_encoder = msgspec.json.Encoder(decimal_format="string")
_decoder = msgspec.json.Decoder(AnyEvent)

#: Namespace for event ids derived from the event that caused them.
_DERIVED_NS = uuid.UUID("6f1c2b1e-5d0a-4a53-9a3e-8d1c5e7f2a90")


class ContractError(ValueError):
    """Bytes that are not a valid event: undecodable, unknown type, or invalid fields.

    This is the only error ``decode`` raises, so a consumer can route every bad
    message to the dead-letter queue with one ``except``.
    """


def encode(event: Event) -> bytes:
    """Serialize an event to its JSON wire form (UTF-8 bytes)."""
    return _encoder.encode(event)


def decode(data: bytes | bytearray | memoryview | str) -> AnyEvent:
    """Parse and validate one wire message, choosing the class from its ``type``.

    Unknown fields are ignored (forward compatibility). Raises ``ContractError``
    for anything that is not a valid event of a known type.
    """
    try:
        return _decoder.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ContractError(str(exc)) from exc


def decode_as(data: bytes | bytearray | memoryview | str, cls: type[E]) -> E:
    """Like ``decode``, but also require the event to be a ``cls``."""
    event = decode(data)
    if not isinstance(event, cls):
        raise ContractError(f"expected {cls.__name__}, got {type(event).__name__}")
    return event


def key_of(event: Event) -> bytes:
    """The Kafka key of an event: its order id as raw UTF-8 bytes.

    Events that are not about an order are keyed by their own natural key
    (the page for ``PageViewed``, the window kind for snapshots), or by their
    original key for dead letters.
    """
    if isinstance(event, OrderEvent):
        return event.order_id.encode()
    natural = getattr(event, "page", None) or getattr(event, "window_kind", None)
    if natural is None and getattr(event, "key", None) is not None:
        return bytes(event.key)  # type: ignore[attr-defined]
    return str(natural or event.event_id).encode()


def derived_id(cause: Event | uuid.UUID | str, wire_type: str) -> uuid.UUID:
    """A deterministic event id for the ``wire_type`` event caused by ``cause``.

    A participant that reprocesses a redelivered event emits the same id again,
    so every downstream consumer can drop the duplicate by ``event_id``.
    """
    cause_id = cause.event_id if isinstance(cause, Event) else cause
    return uuid.uuid5(_DERIVED_NS, f"{cause_id}/{wire_type}")


def reaction(cause: OrderEvent, cls: type[E], **fields: Any) -> E:
    """Build the ``cls`` event that reacts to ``cause``.

    Carries the order id and correlation id over, sets ``causation_id`` to the
    cause's event id and derives a deterministic ``event_id``.
    """
    fields.setdefault("event_id", derived_id(cause, cls.wire_type()))
    return cls(
        order_id=cause.order_id,
        correlation_id=cause.correlation_id,
        causation_id=str(cause.event_id),
        **fields,
    )
