"""Database side of the outbox: add rows, read unsent rows, mark them sent, purge old ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Min
from django.utils import timezone

import contracts
from gateway import batch_sql
from gateway.outbox.models import OutboxMessage

#: Postgres channel the relay LISTENs on; NOTIFY inside the transaction fires on commit.
OUTBOX_CHANNEL = "outbox"

#: The columns an outbox row is written with (``id`` is the database's, ``sent_at`` null).
_COLUMNS = batch_sql.Table(OutboxMessage, ("topic", "key", "value", "headers", "created_at"))


def _row(event: contracts.Event, topic: str, at: datetime) -> dict[str, Any]:
    """The outbox row's values for ``event`` on ``topic``, by field name."""
    return {
        "topic": topic,
        "key": contracts.key_of(event),
        "value": contracts.encode(event),
        "headers": [["event_type", event.wire_type()]],
        "created_at": at,
    }


def outbox_add(event: contracts.Event, *, topic: str, at: datetime | None = None) -> OutboxMessage:
    """Queue ``event`` for ``topic`` (keyed by ``contracts.key_of``) in the current
    transaction, or in one of its own; on PostgreSQL the relay is woken at commit.
    ``at`` is the row's creation time (now by default)."""
    with transaction.atomic():
        row = OutboxMessage.objects.create(**_row(event, topic, at or timezone.now()))
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, '')", [OUTBOX_CHANNEL])
    return row


def outbox_add_after(
    insert: str, params: Sequence[Any], event: contracts.Event, *, topic: str, at: datetime
) -> bool:
    """PostgreSQL only: run ``insert`` (an ``INSERT … ON CONFLICT DO NOTHING RETURNING …``
    that may insert nothing) and, when it inserted its row, queue ``event`` for ``topic``
    and wake the relay, all in one statement: one round trip, atomic without an explicit
    transaction (the NOTIFY fires at the statement's commit, or the enclosing
    transaction's). Whether ``insert`` inserted its row (no row and no event otherwise).
    """
    row = _row(event, topic, at)
    values = [
        adapt(row[column])
        for adapt, column in zip(_COLUMNS.adapters(connection), _COLUMNS.columns, strict=True)
    ]
    columns = ", ".join(connection.ops.quote_name(_COLUMNS.column(c)) for c in _COLUMNS.columns)
    sql = (
        f"WITH written AS ({insert}), "
        f"queued AS (INSERT INTO {connection.ops.quote_name(_COLUMNS.name)} ({columns}) "
        f"SELECT {', '.join(['%s'] * len(values))} FROM written RETURNING 1) "
        "SELECT pg_notify(%s, '') FROM queued"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *values, OUTBOX_CHANNEL])
        return cursor.fetchone() is not None


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
    return outbox_state().backlog


@dataclass(frozen=True)
class OutboxState:
    """Rows not yet published, and how long the oldest of them has waited (0 when none)."""

    backlog: int
    oldest_age_s: float


def outbox_state(*, now: datetime | None = None) -> OutboxState:
    """One query: the unsent rows and the age of the oldest. A growing age means the relay
    or the broker is behind: events are delayed (never lost), and the saga counts its
    deadlines from when it sees an order, so a delay cancels nothing."""
    row = OutboxMessage.objects.filter(sent_at__isnull=True).aggregate(
        backlog=Count("id"), oldest=Min("created_at")
    )
    oldest = row["oldest"]
    age = ((now or timezone.now()) - oldest).total_seconds() if oldest is not None else 0.0
    return OutboxState(backlog=row["backlog"], oldest_age_s=max(0.0, age))
