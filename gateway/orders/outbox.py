"""Database side of the outbox: read unsent rows, mark them sent, purge old ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from gateway.orders.models import OutboxMessage


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
