"""Timeline entries for what failed on the way: a retry scheduled, a dead letter.

They are not events of the order's flow but belong in its timeline (``retry.scheduled``
from a record on a retry tier topic, ``dlq.recorded`` from a ``DeadLetter``), so an order
shows each failed attempt, which group it was, the error and when it was due again.
Pure: built from what the projector read, stored by ``gateway.orders.projection.project_notes``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from contracts import DeadLetter
from contracts.failures import Headers, RetryState, key_order_id
from gateway.orders.projection import Note

_NOTE_NS = uuid.UUID("5b8e8a4e-61d4-4b8f-9a65-3f5f0f5a2c17")


def retry_note(
    topic: str, partition: int, offset: int, key: bytes | None, headers: Headers, ms: int
) -> Note | None:
    """The note of a retry record, or None when it has no readable retry headers or no
    order key. Hostile headers (a due time out of any calendar's range, a history nobody
    can parse) give no note, never an exception: the projector goes on."""
    try:
        state = RetryState.from_headers(headers)
    except Exception:
        return None
    order_id = key_order_id(key)
    if state is None or order_id is None:
        return None
    last = state.history[-1] if state.history else None
    return Note(
        event_id=uuid.uuid5(_NOTE_NS, f"{topic}/{partition}/{offset}"),
        order_id=order_id,
        event_type="retry.scheduled",
        topic=topic,
        partition=partition,
        offset=offset,
        occurred_at=_from_ms(ms) or datetime.now(UTC),
        data={
            "group": state.group,
            "agent": state.agent,
            "failedAttempts": state.attempts,
            "dueAt": due.isoformat() if (due := _from_ms(state.due_at_ms)) else None,
            "errorType": last.error_type if last else "",
            "errorMessage": last.error_message if last else "",
            "origin": f"{state.origin_topic}[{state.origin_partition}]@{state.origin_offset}",
        },
    )


def _from_ms(ms: int) -> datetime | None:
    """``ms`` since the epoch as a UTC time, or None when no ``datetime`` can hold it."""
    try:
        return datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def dead_letter_note(topic: str, partition: int, offset: int, letter: DeadLetter) -> Note | None:
    """The note of a dead letter about an order, or None when its key is no order id."""
    order_id = key_order_id(letter.key)
    if order_id is None:
        return None
    return Note(
        event_id=letter.event_id,
        order_id=order_id,
        event_type="dlq.recorded",
        topic=topic,
        partition=partition,
        offset=offset,
        occurred_at=letter.failed_at,
        data={
            "group": letter.consumer_group,
            "attempts": letter.attempts,
            "errorType": letter.error_type,
            "errorMessage": letter.error_message,
            "origin": f"{letter.original_topic}[{letter.partition}]@{letter.offset}",
        },
    )
