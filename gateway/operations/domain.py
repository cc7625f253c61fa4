"""Pure rules of the DLQ tools: what a redrive sends, how a dead letter's bytes are shown,
and the dead letter of a message a gateway consumer cannot read."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from contracts import Attempt, DeadLetter, topics
from contracts import failures as wire

#: The services whose fault settings an operator can change at runtime.
FAULT_SERVICES: tuple[str, ...] = ("payment", "inventory", "saga", "notification", "analytics")


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


_REDRIVE_TARGETS = frozenset(t.name for t in topics.REDRIVE_TARGETS)


def redrive_refusal(original_topic: str) -> str | None:
    """Why a dead letter from ``original_topic`` cannot be redriven, or None when it can:
    a redrive only writes to the topics of ``contracts.topics.REDRIVE_TARGETS``."""
    if original_topic in _REDRIVE_TARGETS:
        return None
    return (
        f"Its original topic {original_topic[:128]!r} is not a topic a redrive may write to "
        f"({', '.join(sorted(_REDRIVE_TARGETS))}); it stays pending (discard it instead)."
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
