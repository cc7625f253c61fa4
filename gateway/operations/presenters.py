"""How dead letters and audit entries look in API responses and the CLI (camelCase)."""

from __future__ import annotations

from typing import Any

from contracts import DeadLetter
from gateway.operations.domain import full_history, shown, shown_headers
from gateway.operations.models import AuditEntry, DeadLetterRecord
from gateway.operations.selectors import dead_letter_event


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def dead_letter_summary(record: DeadLetterRecord) -> dict[str, Any]:
    return {
        "id": record.pk,
        "eventId": str(record.event_id),
        "originalTopic": record.original_topic,
        "originalPartition": record.original_partition,
        "originalOffset": record.original_offset,
        "consumerGroup": record.consumer_group,
        "errorType": record.error_type,
        "errorMessage": record.error_message,
        "attempts": record.attempts,
        "failedAt": _iso(record.failed_at),
        "status": record.status,
        "resolvedBy": record.resolved_by or None,
        "resolvedAt": _iso(record.resolved_at),
        "dlq": {
            "topic": record.dlq_topic,
            "partition": record.dlq_partition,
            "offset": record.dlq_offset,
        },
    }


def dead_letter_detail(record: DeadLetterRecord) -> dict[str, Any]:
    """The summary plus the original key, value and headers, the stack and the history."""
    dead: DeadLetter = dead_letter_event(record)
    body = dead_letter_summary(record)
    body.update(
        {
            "key": _key(dead.key),
            "value": _bytes(dead.value),
            "headers": shown_headers(list(dead.headers)),
            "errorStack": dead.error_stack,
            "history": [
                {
                    "at": a.at.isoformat(),
                    "topic": a.topic,
                    "errorType": a.error_type,
                    "errorMessage": a.error_message,
                }
                for a in full_history(dead)
            ],
            "audit": [audit_entry(e) for e in record.audit.order_by("-at", "-id")],
        }
    )
    return body


def _bytes(data: bytes | None) -> dict[str, Any] | None:
    """``{"encoding": "json", "data": ...}`` or ``{"encoding": "base64", "data": "..."}``."""
    view = shown(data)
    if view is None:
        return None
    [(encoding, value)] = view.items()
    return {"encoding": encoding, "data": value}


def _key(data: bytes | None) -> dict[str, Any] | None:
    """Keys are text (order ids) as a rule: ``utf-8`` when they decode, else ``base64``."""
    if data is None:
        return None
    try:
        return {"encoding": "utf-8", "data": data.decode("utf-8")}
    except UnicodeDecodeError:
        return _bytes(data)


def audit_entry(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "action": entry.action,
        "actor": entry.actor,
        "at": entry.at.isoformat(),
        "records": [str(r.event_id) for r in entry.records.order_by("id")],
        "detail": entry.detail,
    }
