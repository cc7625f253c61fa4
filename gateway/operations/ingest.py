"""Store the dead letters the projector reads from ``orders.dlq.v1``, idempotently."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from django.utils import timezone

import contracts
from contracts import DeadLetter
from gateway import batch_sql as sql
from gateway.operations.models import DeadLetterRecord, DeadLetterStatus

_TABLE = sql.Table(
    DeadLetterRecord,
    (
        "event_id",
        "dlq_topic",
        "dlq_partition",
        "dlq_offset",
        "raw",
        "original_topic",
        "original_partition",
        "original_offset",
        "consumer_group",
        "error_type",
        "error_message",
        "attempts",
        "failed_at",
        "recorded_at",
        "status",
        "resolved_by",
        "resolved_at",
    ),
)


class Positioned(Protocol):
    """An event with where it sat in Kafka (the projector's ``Seen``)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def event(self) -> object: ...


def dead_letters_store(batch: Sequence[Positioned]) -> int:
    """Insert one row per ``DeadLetter`` in ``batch``; return how many were new.

    Rows are unique by event id and by DLQ position, so a redelivered batch adds nothing
    (one ``INSERT … ON CONFLICT DO NOTHING``).
    """
    now = timezone.now()
    rows = [_row(seen, seen.event, now) for seen in batch if isinstance(seen.event, DeadLetter)]
    if not rows:
        return 0
    return sql.execute(sql.insert(_TABLE, rows))


def _row(seen: Positioned, dead: DeadLetter, now: datetime) -> tuple[object, ...]:
    return (
        dead.event_id,
        seen.topic,
        seen.partition,
        seen.offset,
        contracts.encode(dead),
        dead.original_topic,
        dead.partition,
        dead.offset,
        dead.consumer_group,
        dead.error_type,
        dead.error_message,
        dead.attempts,
        dead.failed_at,
        now,
        DeadLetterStatus.PENDING.value,
        "",
        None,
    )
