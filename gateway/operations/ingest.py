"""Store the dead letters the projector reads from ``orders.dlq.v1``, idempotently."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from django.utils import timezone

import contracts
from contracts import DeadLetter
from gateway.operations.models import DeadLetterRecord


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

    Rows are unique by event id and by DLQ position, so a redelivered batch adds nothing.
    """
    now = timezone.now()
    rows = [_row(seen, seen.event, now) for seen in batch if isinstance(seen.event, DeadLetter)]
    if not rows:
        return 0
    before = DeadLetterRecord.objects.count()
    DeadLetterRecord.objects.bulk_create(rows, ignore_conflicts=True)
    return DeadLetterRecord.objects.count() - before


def _row(seen: Positioned, dead: DeadLetter, now: datetime) -> DeadLetterRecord:
    return DeadLetterRecord(
        event_id=dead.event_id,
        dlq_topic=seen.topic,
        dlq_partition=seen.partition,
        dlq_offset=seen.offset,
        raw=contracts.encode(dead),
        original_topic=dead.original_topic,
        original_partition=dead.partition,
        original_offset=dead.offset,
        consumer_group=dead.consumer_group,
        error_type=dead.error_type,
        error_message=dead.error_message,
        attempts=dead.attempts,
        failed_at=dead.failed_at,
        recorded_at=now,
    )
