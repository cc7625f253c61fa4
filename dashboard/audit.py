"""The live auditor's verdict for the dashboard: the monitor follows ``audit.v1`` (the
auditor's ``AuditSummary`` per partition, compacted) and adds the latest summary of every
partition up into the ``audit`` part of its status (``merge``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

from aiokafka import AIOKafkaConsumer, TopicPartition

from config.env import read, string
from contracts import AuditKind, AuditSummary, ContractError, decode, topics
from kafka_admin.client import new_offsets_consumer

#: The kinds, in the order the panel lists them.
KINDS: tuple[str, ...] = get_args(AuditKind)
#: At most this many violating orders are listed.
MAX_LISTED = 50
#: A summary is published at least every 20 s; none for this long: the auditor is not running.
STALE = timedelta(seconds=60)
#: Records read per poll at most (the compacted topic holds one per partition, plus the
#: ones not compacted yet).
MAX_RECORDS = 5_000


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def merge(summaries: Iterable[AuditSummary], now: datetime | None = None) -> dict[str, Any]:
    """The latest summary of every partition, added up (camelCase JSON for the page):
    ``orders`` audited, ``pending``, ``counts`` per kind, the ``violations`` (at most
    ``MAX_LISTED``: ``{orderId, kinds}``), ``partitions`` heard from, ``checkedAt`` (the
    oldest partition's: every check is current up to at least then), ``updatedAt`` (the
    newest summary's) and ``stale`` (no summary for ``STALE``)."""
    now = now or datetime.now(UTC)
    counts = dict.fromkeys(KINDS, 0)
    orders = pending = 0
    listed: list[dict[str, Any]] = []
    partitions: list[int] = []
    checked: list[datetime] = []
    updated: datetime | None = None
    for s in sorted(summaries, key=lambda s: s.partition):
        partitions.append(s.partition)
        orders += s.orders
        pending += s.pending
        for kind in KINDS:
            counts[kind] += getattr(s, kind)
        for v in s.violations:
            if len(listed) < MAX_LISTED:
                listed.append({"orderId": v.order_id, "kinds": list(v.kinds)})
        if s.checked_at is not None:
            checked.append(s.checked_at)
        updated = s.occurred_at if updated is None else max(updated, s.occurred_at)
    return {
        "orders": orders,
        "pending": pending,
        "counts": {_camel(k): n for k, n in counts.items()},
        "violations": listed,
        "partitions": partitions,
        "checkedAt": min(checked).isoformat() if checked else None,
        "updatedAt": None if updated is None else updated.isoformat(),
        "stale": updated is None or now - updated > STALE,
    }


class AuditFeed:
    """Follows ``audit.v1`` from its beginning without a consumer group, keeping the latest
    summary of each partition of the auditor group ``group`` (``AUDITOR_GROUP``)."""

    def __init__(self, bootstrap: list[str], group: str | None = None) -> None:
        self.bootstrap = bootstrap
        self.group = group or read("AUDITOR_GROUP", string, "auditor")
        self.consumer: AIOKafkaConsumer | None = None
        self.latest: dict[int, AuditSummary] = {}

    async def read(self) -> dict[str, Any] | None:
        """The merged verdict, or None while ``audit.v1`` does not exist or has no summary
        of the group."""
        if self.consumer is None:
            consumer = new_offsets_consumer(self.bootstrap, request_timeout_ms=3000)
            await consumer.start()
            numbers = consumer.partitions_for_topic(topics.AUDIT.name)
            if not numbers:
                await consumer._client.force_metadata_update()
                numbers = consumer.partitions_for_topic(topics.AUDIT.name)
            if not numbers:
                await consumer.stop()
                return None
            partitions = [TopicPartition(topics.AUDIT.name, p) for p in sorted(numbers)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            self.consumer = consumer
        taken = 0
        while taken < MAX_RECORDS:
            # Wait a little only for the first records; later polls take what the
            # consumer has fetched meanwhile, so the monitor's loop is not held up.
            wait = 200 if taken == 0 and not self.latest else 0
            batch = await self.consumer.getmany(timeout_ms=wait)
            records = [r for items in batch.values() for r in items]
            if not records:
                break
            taken += len(records)
            for record in records:
                self._keep(record.value)
        if not self.latest:
            return None
        return merge(self.latest.values())

    def _keep(self, value: bytes | None) -> None:
        if value is None:
            return
        try:
            summary = decode(value)
        except ContractError:
            return
        if not isinstance(summary, AuditSummary) or summary.group != self.group:
            return
        held = self.latest.get(summary.partition)
        if held is None or summary.occurred_at >= held.occurred_at:
            self.latest[summary.partition] = summary

    async def close(self) -> None:
        if self.consumer is not None:
            with contextlib.suppress(Exception):
                await self.consumer.stop()
        self.consumer = None
