"""Reads of operations: dead letters by filter, one dead letter, and the DLQ's figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, QuerySet

import contracts
from contracts import DeadLetter
from gateway.operations.models import AuditEntry, DeadLetterRecord, DeadLetterStatus


@dataclass(frozen=True)
class DlqFilter:
    """Which dead letters: every given field must match (None: any)."""

    topic: str | None = None
    error_type: str | None = None
    group: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def dead_letter_list(*, filters: DlqFilter) -> QuerySet[DeadLetterRecord]:
    """Dead letters matching ``filters``, newest failure first."""
    rows = DeadLetterRecord.objects.all()
    if filters.topic:
        rows = rows.filter(original_topic=filters.topic)
    if filters.error_type:
        rows = rows.filter(error_type=filters.error_type)
    if filters.group:
        rows = rows.filter(consumer_group=filters.group)
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.since:
        rows = rows.filter(failed_at__gte=filters.since)
    if filters.until:
        rows = rows.filter(failed_at__lt=filters.until)
    return rows.order_by("-failed_at", "-id")


def dead_letter_get(*, ref: str) -> DeadLetterRecord | None:
    """One dead letter by row id (digits) or event id (a UUID); None if unknown."""
    if ref.isdigit():
        return DeadLetterRecord.objects.filter(pk=int(ref)).first()
    try:
        return DeadLetterRecord.objects.filter(event_id=ref).first()
    except Exception:  # not a UUID: no such record
        return None


def dead_letter_event(record: DeadLetterRecord) -> DeadLetter:
    """The stored ``DeadLetter`` event, decoded from the bytes the projector read."""
    return contracts.decode_as(bytes(record.raw), DeadLetter)


def audit_for(record: DeadLetterRecord) -> QuerySet[AuditEntry]:
    """The audit entries that changed ``record``, newest first."""
    return record.audit.order_by("-at", "-id")


@dataclass(frozen=True)
class DlqFigures:
    """What ``/metrics/dlq`` reports from the database."""

    pending_by_topic: dict[str, int]
    pending_by_error_type: dict[str, int]
    pending_by_group: dict[str, int]
    by_status: dict[str, int]
    audit_actions: dict[str, int]


def dlq_figures() -> DlqFigures:
    pending = DeadLetterRecord.objects.filter(status=DeadLetterStatus.PENDING)

    def counted(rows: QuerySet[DeadLetterRecord], field: str) -> dict[str, int]:
        return {
            row[field]: row["n"]
            for row in rows.values(field).annotate(n=Count("id")).order_by(field)
        }

    by_status = {s.value: 0 for s in DeadLetterStatus}
    by_status.update(counted(DeadLetterRecord.objects.all(), "status"))
    actions = {
        row["action"]: row["n"]
        for row in AuditEntry.objects.values("action").annotate(n=Count("id")).order_by()
    }
    return DlqFigures(
        pending_by_topic=counted(pending, "original_topic"),
        pending_by_error_type=counted(pending, "error_type"),
        pending_by_group=counted(pending, "consumer_group"),
        by_status=by_status,
        audit_actions=actions,
    )
