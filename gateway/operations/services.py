"""Writes of operations: redrive or discard dead letters, each action audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from gateway.operations.domain import redrive_of, redrive_refusal
from gateway.operations.models import (
    AuditAction,
    AuditEntry,
    DeadLetterRecord,
    DeadLetterStatus,
)
from gateway.operations.publisher import Publisher
from gateway.operations.selectors import dead_letter_event

#: Records handled per transaction (and per producer) in a bulk action.
CHUNK = 500


class AlreadyResolved(Exception):
    """The dead letter was already redriven or discarded."""

    def __init__(self, record: DeadLetterRecord) -> None:
        by = f" by {record.resolved_by}" if record.resolved_by else ""
        at = f" at {record.resolved_at.isoformat()}" if record.resolved_at else ""
        super().__init__(
            f"dead letter {record.pk} ({record.event_id}) was already {record.status}{by}{at}"
        )
        self.record = record


class RedriveRefused(Exception):
    """The dead letter's original topic is no topic a redrive may write to."""

    def __init__(self, record: DeadLetterRecord, reason: str) -> None:
        super().__init__(
            f"dead letter {record.pk} ({record.event_id}) cannot be redriven: {reason}"
        )
        self.record = record
        self.reason = reason


@dataclass
class ActionResult:
    """What an action did: the records it changed, those it could not send, and those
    it refused to redrive (``redrive_refusal``: they stay pending)."""

    done: list[DeadLetterRecord] = field(default_factory=list)
    failed: list[tuple[DeadLetterRecord, str]] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    refused: list[tuple[DeadLetterRecord, str]] = field(default_factory=list)


def dead_letter_redrive(*, record_id: int, actor: str, publisher: Publisher) -> ActionResult:
    """Redrive one pending dead letter; ``AlreadyResolved`` if it is not pending,
    ``RedriveRefused`` if its original topic is no redrive target."""
    return _redrive_chunk([record_id], actor=actor, publisher=publisher, detail={}, strict=True)


def dead_letters_redrive(
    *, record_ids: Sequence[int], actor: str, publisher: Publisher, detail: dict[str, Any]
) -> ActionResult:
    """Redrive each pending dead letter of ``record_ids`` (others are skipped), in chunks.

    Each record goes back to its original topic; a row is marked redriven only after the
    broker acknowledged its record. A record whose original topic is no redrive target
    is refused and stays pending. One audit entry per chunk.
    """
    outcome = ActionResult()
    for start in range(0, len(record_ids), CHUNK):
        part = _redrive_chunk(
            record_ids[start : start + CHUNK],
            actor=actor,
            publisher=publisher,
            detail=detail,
            strict=False,
        )
        outcome.done += part.done
        outcome.failed += part.failed
        outcome.audit += part.audit
        outcome.refused += part.refused
    return outcome


def dead_letter_discard(*, record_id: int, actor: str) -> ActionResult:
    """Discard one pending dead letter; ``AlreadyResolved`` if it is not pending."""
    return _discard_chunk([record_id], actor=actor, detail={}, strict=True)


def dead_letters_discard(
    *, record_ids: Sequence[int], actor: str, detail: dict[str, Any]
) -> ActionResult:
    """Discard each pending dead letter of ``record_ids`` (others are skipped)."""
    outcome = ActionResult()
    for start in range(0, len(record_ids), CHUNK):
        part = _discard_chunk(
            record_ids[start : start + CHUNK], actor=actor, detail=detail, strict=False
        )
        outcome.done += part.done
        outcome.audit += part.audit
    return outcome


def _locked_pending(ids: Sequence[int], *, strict: bool) -> list[DeadLetterRecord]:
    rows = list(DeadLetterRecord.objects.select_for_update().filter(pk__in=ids).order_by("id"))
    resolved = [r for r in rows if r.status != DeadLetterStatus.PENDING]
    if strict and resolved:
        raise AlreadyResolved(resolved[0])
    return [r for r in rows if r.status == DeadLetterStatus.PENDING]


def _redrive_chunk(
    ids: Sequence[int], *, actor: str, publisher: Publisher, detail: dict[str, Any], strict: bool
) -> ActionResult:
    outcome = ActionResult()
    with transaction.atomic():
        pending = []
        for row in _locked_pending(ids, strict=strict):
            refusal = redrive_refusal(row.original_topic)
            if refusal is None:
                pending.append(row)
            elif strict:
                raise RedriveRefused(row, refusal)
            else:
                outcome.refused.append((row, refusal))
        if not pending:
            return outcome
        outgoing = [redrive_of(dead_letter_event(r)) for r in pending]
        results = publisher.publish(outgoing)
        for row, error in zip(pending, results, strict=True):
            if error is None:
                outcome.done.append(row)
            else:
                outcome.failed.append((row, f"{type(error).__name__}: {error}"[:500]))
        now = timezone.now()
        _resolve(outcome.done, DeadLetterStatus.REDRIVEN, actor, now)
        topics = sorted({o.topic for o in outgoing})
        audit_detail = {
            **detail,
            "topics": topics,
            "failed": [{"id": r.pk, "error": e} for r, e in outcome.failed],
            "refused": [r.pk for r, _ in outcome.refused],
        }
        outcome.audit.append(_audit(AuditAction.REDRIVE, actor, now, outcome.done, audit_detail))
    return outcome


def _discard_chunk(
    ids: Sequence[int], *, actor: str, detail: dict[str, Any], strict: bool
) -> ActionResult:
    outcome = ActionResult()
    with transaction.atomic():
        outcome.done = _locked_pending(ids, strict=strict)
        if not outcome.done:
            return outcome
        now = timezone.now()
        _resolve(outcome.done, DeadLetterStatus.DISCARDED, actor, now)
        outcome.audit.append(_audit(AuditAction.DISCARD, actor, now, outcome.done, dict(detail)))
    return outcome


def _resolve(rows: list[DeadLetterRecord], status: str, actor: str, now: Any) -> None:
    for row in rows:
        row.status, row.resolved_by, row.resolved_at = status, actor, now
    if rows:
        DeadLetterRecord.objects.bulk_update(rows, ["status", "resolved_by", "resolved_at"])


def _audit(
    action: str, actor: str, now: Any, rows: list[DeadLetterRecord], detail: dict[str, Any]
) -> AuditEntry:
    entry = AuditEntry.objects.create(action=action, actor=actor, at=now, detail=detail)
    entry.records.set(rows)
    return entry
