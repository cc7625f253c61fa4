"""Pure rules of the DLQ tools: what a redrive sends, how a dead letter's bytes are shown,
and the dead letter of a message a gateway consumer cannot read."""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts import Attempt, DeadLetter
from contracts import failures as wire

#: The services whose fault settings an operator can change at runtime.
FAULT_SERVICES: tuple[str, ...] = ("payment", "inventory", "saga", "notification", "analytics")

_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")
_POISON_NS = uuid.UUID("2c8f0f7e-3b0a-4c55-9c61-0d7a52f1b6de")
_TEXT_MAX = 2_000
_STACK_MAX = 20_000


@dataclass(frozen=True)
class Outgoing:
    """One record to produce: topic, key, value and headers."""

    topic: str
    key: bytes | None
    value: bytes
    headers: wire.Headers


def full_history(dead: DeadLetter) -> tuple[Attempt, ...]:
    """The record's attempts, ending with the one that dead-lettered it.

    A history shorter than ``attempts`` lacks the final attempt: it is added from the
    record's own error and failure time.
    """
    if len(dead.history) >= dead.attempts:
        return dead.history
    final = Attempt(
        at=dead.failed_at,
        topic=dead.original_topic,
        error_type=dead.error_type,
        error_message=dead.error_message,
    )
    return (*dead.history, final)


def redrive_of(dead: DeadLetter) -> Outgoing:
    """What a redrive sends: the original key, value and headers back to the original
    topic, for the failed consumer group only (``redrive.group``), with ``redrive.id``
    and the attempt history."""
    headers = [
        *wire.original_headers(list(dead.headers)),
        (wire.REDRIVE_GROUP, dead.consumer_group.encode()),
        (wire.REDRIVE_ID, str(dead.event_id).encode()),
        (wire.HISTORY, wire.encode_history(full_history(dead))),
    ]
    return Outgoing(dead.original_topic, dead.key, dead.value, headers)


def dead_letter_headers(dead: DeadLetter) -> wire.Headers:
    """The DLQ record's headers: what routing needs without decoding it."""
    return [
        (wire.DLQ_GROUP, dead.consumer_group.encode()),
        (wire.DLQ_ORIGINAL_TOPIC, dead.original_topic.encode()),
        (wire.DLQ_ERROR_TYPE, dead.error_type.encode()),
        (wire.DLQ_ATTEMPTS, str(dead.attempts).encode()),
    ]


def for_group(headers: wire.Headers, group: str) -> bool:
    """False for a redriven record meant for another consumer group (``redrive.group``)."""
    target = wire.header(headers, wire.REDRIVE_GROUP)
    return target is None or target.decode(errors="replace") == group


def error_type_of(exc: BaseException) -> str:
    """``ValueError`` for builtins, ``package.module.Class`` otherwise."""
    kind = type(exc)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def poison_dead_letter(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes,
    headers: wire.Headers,
    group: str,
    error_type: str,
    error_message: str,
    error_stack: str,
    at: datetime,
) -> DeadLetter:
    """The dead letter of a message that failed for good at its first attempt.

    The event id is derived from where the message sat and the group, so a consumer
    that dead-letters it again after a crash produces the same record (stored once).
    An earlier history (a redriven message failing again) is kept.
    """
    attempt = Attempt(
        at=at,
        topic=topic,
        error_type=error_type[:_TEXT_MAX],
        error_message=error_message[:_TEXT_MAX],
    )
    history = (*wire.decode_history(wire.header(headers, wire.HISTORY)), attempt)
    event_id = uuid.uuid5(_POISON_NS, f"{group}/{topic}/{partition}/{offset}")
    text_key = key.decode("utf-8", errors="replace") if key is not None else ""
    return DeadLetter(
        event_id=event_id,
        occurred_at=at,
        correlation_id=text_key if _IDENT.match(text_key) else str(event_id),
        original_topic=topic,
        partition=partition,
        offset=offset,
        key=key,
        value=value,
        headers=tuple(wire.original_headers(headers)),
        consumer_group=group,
        error_type=attempt.error_type,
        error_message=attempt.error_message,
        error_stack=error_stack[-_STACK_MAX:],
        failed_at=at,
        attempts=1,
        history=history,
    )


def shown(data: bytes | None) -> dict[str, Any] | None:
    """Bytes for display: ``{"json": value}`` when they are valid JSON, else
    ``{"base64": text}``; None stays None."""
    if data is None:
        return None
    try:
        return {"json": json.loads(data)}
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {"base64": base64.b64encode(data).decode()}


def shown_headers(headers: wire.Headers) -> list[dict[str, str]]:
    """Headers for display: UTF-8 text when it is text, else base64."""
    out = []
    for name, value in headers:
        try:
            out.append({"name": name, "value": value.decode("utf-8")})
        except UnicodeDecodeError:
            out.append({"name": name, "base64": base64.b64encode(value).decode()})
    return out
