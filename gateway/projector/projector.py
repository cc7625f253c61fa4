"""The projector process: consume the saga topics in batches and fold them into the read model.

One consumer group (``projector``); offsets are committed only after the batch's
database transaction committed (at least once; the fold is idempotent). One
transaction of set-based statements per batch (one per table), never one per event.

It also reads ``orders.dlq.v1`` into the operators' dead-letter table, and dead-letters
its own poison messages there before committing past them: undecodable or invalid
records, an order event keyed by another order (``contracts.admission``), and records
the database cannot hold (isolated by ``project_isolated``: the rest of their batch is
written). Nothing is skipped silently. A redriven record meant for another group
(``redrive.group`` naming a platform group, with its ``redrive.id``) is skipped.

Outages: started while Kafka or PostgreSQL is down, or losing either while it runs, it
logs "waiting for Kafka/PostgreSQL at ..." with backoff and starts its consumer again
once they answer, instead of exiting. A commit the broker refuses after a group
rebalance (``CommitFailedError``, e.g. ~20 s after a broker restart, when the group
forgot this member) re-joins the group the same way. Nothing is lost or applied twice:
the batch was not committed, so it is read again from the group's committed offsets,
and the fold is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord
from asgiref.sync import sync_to_async
from django import db

from contracts import DeadLetter, topics
from contracts.admission import admit
from contracts.failures import Headers, RetryState, dead_letter, header_list
from gateway.consumed import GROUP, RETRY_TOPICS, TOPICS, Seen
from gateway.operations.sender import DeadLetterSender
from gateway.projector.broadcast import Broadcaster
from gateway.projector.failure_notes import dead_letter_note, retry_note
from gateway.projector.projection import Unit, project_isolated
from kafka_admin import fetch

log = logging.getLogger("gateway.projector")

__all__ = ["GROUP", "TOPICS", "run"]

#: Seconds before consuming again after an outage, doubling up to ``RETRY_CAP``.
RETRY_INITIAL = 0.5
RETRY_CAP = 10.0


async def run(
    bootstrap: list[str],
    stop: asyncio.Event,
    *,
    group: str = GROUP,
    broadcaster: Broadcaster | None = None,
    fetch_wait_ms: int = 0,
) -> None:
    """Consume until ``stop``; after each committed batch, push what changed to the
    dashboard's browsers (``broadcaster``). Rides out Kafka and PostgreSQL outages.

    ``fetch_wait_ms`` (``OBSERVER_FETCH_WAIT_MS`` in the process): the broker answers
    the projector's fetches every that many milliseconds with what arrived meanwhile
    (``kafka_admin.fetch``), so a batch holds more than one event at moderate rates."""
    broadcaster = broadcaster or Broadcaster()
    delay = RETRY_INITIAL

    def consuming() -> None:
        nonlocal delay
        delay = RETRY_INITIAL

    while not stop.is_set():
        try:
            await _consume(bootstrap, stop, group, broadcaster, consuming, fetch_wait_ms)
            return
        except CommitFailedError as exc:
            log.warning(
                "projector: the broker refused the commit after a group rebalance (%s);"
                " re-joining the group: the uncommitted batch is read again (idempotent)",
                exc,
            )
            wait = RETRY_INITIAL
        except (KafkaError, OSError, TimeoutError) as exc:
            wait = delay
            log.warning(
                "projector: waiting for Kafka at %s (%s: %s); retrying in %.1fs",
                ",".join(bootstrap),
                type(exc).__name__,
                exc,
                wait,
            )
        except db.Error as exc:
            wait = delay
            log.warning(
                "projector: waiting for PostgreSQL at %s (%s: %s); retrying in %.1fs",
                _database_address(),
                type(exc).__name__,
                str(exc).strip(),
                wait,
            )
            await sync_to_async(_drop_connection)()
        delay = min(delay * 2, RETRY_CAP)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)


async def _consume(
    bootstrap: list[str],
    stop: asyncio.Event,
    group: str,
    broadcaster: Broadcaster,
    consuming: Callable[[], None],
    fetch_wait_ms: int,
) -> None:
    """One consumer's life: start it, fold batches until ``stop``; an outage raises."""
    consumer = AIOKafkaConsumer(
        *TOPICS,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=1000,
        **fetch.coalesced(fetch_wait_ms),
    )
    sender = DeadLetterSender(bootstrap)
    try:
        await consumer.start()
        await sync_to_async(_check_database)()
        log.info("projector: consuming %s as group %r", TOPICS, group)
        consuming()
        while not stop.is_set():
            polled = await consumer.getmany(timeout_ms=500, max_records=1000)
            units: list[Unit] = []
            records: dict[int, ConsumerRecord] = {}
            poison: list[DeadLetter] = []
            for partition_records in polled.values():
                for record in partition_records:
                    unit = _unit(record, group, poison)
                    if unit is not None:
                        units.append(unit)
                        records[id(unit)] = record
            projected = units
            if units:
                failed = await sync_to_async(project_isolated)(units)
                if failed:
                    bad = {id(unit) for unit, _ in failed}
                    projected = [u for u in units if id(u) not in bad]
                    poison += _quarantine(failed, records, group)
            if poison and not await _dead_letter(sender, poison, stop):
                break  # stopped before the broker took them: do not commit past them
            if polled:
                await consumer.commit(processed(polled))
            events = [u.seen.event for u in projected if u.seen is not None]
            if events:
                await broadcaster.publish(events)
    finally:
        with contextlib.suppress(Exception):
            await sender.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(consumer.stop(), 10)


def processed(
    polled: Mapping[TopicPartition, Sequence[ConsumerRecord]],
) -> dict[TopicPartition, int]:
    """The offsets to commit after a batch: the next offset of each partition the batch
    read from, and no other. A commit without them (aiokafka's default: every assigned
    partition) wrote one ``__consumer_offsets`` record per assigned partition per batch,
    66 of them, most unchanged: ~58 records per order at 30 orders/s."""
    return {tp: records[-1].offset + 1 for tp, records in polled.items() if records}


def _check_database() -> None:
    """Raise a `django.db.Error` unless the read model's database answers."""
    with db.connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _drop_connection() -> None:
    """Forget a connection the database server dropped (Django would reuse it)."""
    with contextlib.suppress(Exception):
        db.connection.close()


def _database_address() -> str:
    settings = db.connection.settings_dict
    host = settings.get("HOST") or "localhost"
    port = settings.get("PORT")
    return f"{host}:{port}/{settings.get('NAME')}" if port else f"{host}/{settings.get('NAME')}"


def _unit(record: ConsumerRecord, group: str, poison: list[DeadLetter]) -> Unit | None:
    """What ``record`` gives the batch: its event and notes, or None (poison, added to
    ``poison``; not for this group; a retry record with nothing to note)."""
    if record.topic in RETRY_TOPICS:
        note = retry_note(
            record.topic,
            record.partition,
            record.offset,
            record.key,
            header_list(record.headers),
            record.timestamp,
        )
        return Unit(None, (note,)) if note is not None else None
    seen = _read(record, group, poison)
    if seen is None:
        return None
    if isinstance(seen.event, DeadLetter):
        letter = dead_letter_note(seen.topic, seen.partition, seen.offset, seen.event)
        if letter is not None:
            return Unit(seen, (letter,))
    return Unit(seen)


def _read(record: ConsumerRecord, group: str, poison: list[DeadLetter]) -> Seen | None:
    """The record's event, or None: not for this group, or poison (added to ``poison``)."""
    headers = header_list(record.headers)
    admission = admit(record.key, record.value or b"", headers, group=group)
    if admission.skipped:
        return None
    event = admission.event
    if event is None:  # no valid event, or keyed by another order
        exc = admission.invalid
        where = f"{record.topic}[{record.partition}]@{record.offset}"
        if record.topic == topics.DLQ.name:  # a dead letter cannot be dead-lettered again
            log.error("projector: unreadable dead letter %s left in the DLQ: %s", where, exc)
            return None
        log.warning("projector: undecodable message %s dead-lettered: %s", where, exc)
        poison.append(_letter(record, headers, group, exc))
        return None
    return Seen(record.topic, record.partition, record.offset, event)


def _quarantine(
    failed: list[tuple[Unit, Exception]], records: dict[int, ConsumerRecord], group: str
) -> list[DeadLetter]:
    """Dead letters for the records the database could not hold (the batch went on
    without them). A retry record only gave a timeline note: logged, not dead-lettered.
    A dead letter this projector made of a record it could not hold, and cannot hold
    either, is logged and left in the DLQ (dead-lettering it again would loop)."""
    letters = []
    for unit, exc in failed:
        record = records[id(unit)]
        where = f"{record.topic}[{record.partition}]@{record.offset}"
        event = unit.seen.event if unit.seen is not None else None
        if event is None:
            log.error("projector: could not note retry record %s: %r", where, exc)
        elif (
            isinstance(event, DeadLetter)
            and event.consumer_group == group
            and event.original_topic == topics.DLQ.name
        ):
            log.error("projector: could not store its own dead letter %s: %r", where, exc)
        else:
            log.warning("projector: %s cannot be stored, dead-lettered: %r", where, exc)
            letters.append(_letter(record, header_list(record.headers), group, exc))
    return letters


def _letter(record: ConsumerRecord, headers: Headers, group: str, exc: Exception) -> DeadLetter:
    state = RetryState.first(record.topic, record.partition, record.offset, headers)
    now = datetime.now(UTC)
    return dead_letter(
        state.failed(now, record.topic, exc),
        key=record.key,
        value=record.value or b"",
        headers=headers,
        group=group,
        exc=exc,
        at=now,
    )


async def _dead_letter(
    sender: DeadLetterSender, letters: list[DeadLetter], stop: asyncio.Event
) -> bool:
    """Send ``letters`` to the DLQ, retrying with backoff; False if stopped first."""
    backoff = 0.2
    while not stop.is_set():
        try:
            await sender.send(letters)
            return True
        except Exception as exc:
            log.warning("projector: DLQ produce failed (%s); retrying in %.1fs", exc, backoff)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff)
            backoff = min(backoff * 2, 5.0)
    return False
