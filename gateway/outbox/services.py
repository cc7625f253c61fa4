"""Database side of the outbox: add rows, read unsent rows, mark them sent, purge old ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

import contracts
from gateway.outbox.models import OutboxMessage

#: Postgres channel the relay LISTENs on; NOTIFY inside the transaction fires on commit.
OUTBOX_CHANNEL = "outbox"


def outbox_add(event: contracts.Event, *, topic: str, at: datetime | None = None) -> OutboxMessage:
    """Queue ``event`` for ``topic`` (keyed by ``contracts.key_of``) in the current
    transaction, or in one of its own; on PostgreSQL the relay is woken at commit.
    ``at`` is the row's creation time (now by default)."""
    with transaction.atomic():
        row = OutboxMessage.objects.create(
            topic=topic,
            key=contracts.key_of(event),
            value=contracts.encode(event),
            headers=[["event_type", event.wire_type()]],
            created_at=at or timezone.now(),
        )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, '')", [OUTBOX_CHANNEL])
    return row


@dataclass(frozen=True)
class Pending:
    id: int
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def outbox_unsent(*, limit: int) -> list[Pending]:
    """The oldest unsent rows, in insertion order."""
    rows = (
        OutboxMessage.objects.filter(sent_at__isnull=True)
        .order_by("id")
        .values_list("id", "topic", "key", "value", "headers")[:limit]
    )
    return [
        Pending(id, topic, bytes(key), bytes(value), [(k, v.encode()) for k, v in headers])
        for id, topic, key, value, headers in rows
    ]


def outbox_mark_sent(*, ids: list[int]) -> int:
    with transaction.atomic():
        return OutboxMessage.objects.filter(id__in=ids).update(sent_at=timezone.now())


def outbox_purge_sent(*, older_than: timedelta) -> int:
    """Delete rows sent more than ``older_than`` ago; the table stays small under load."""
    cutoff = timezone.now() - older_than
    deleted, _ = OutboxMessage.objects.filter(sent_at__lt=cutoff).delete()
    return deleted


def outbox_backlog() -> int:
    return OutboxMessage.objects.filter(sent_at__isnull=True).count()
