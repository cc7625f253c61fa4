"""The projector process: consume the saga topics in batches and fold them into the read model.

One consumer group (``projector``); offsets are committed only after the batch's
database transaction committed (at least once; the fold is idempotent). One
database round trip set per batch, never per event.

It also reads ``orders.dlq.v1`` into the operators' dead-letter table, and dead-letters
its own poison messages (undecodable or invalid) there before committing past them:
nothing is skipped silently. A redriven record meant for another group
(``redrive.group``) is not for the projector and is skipped.

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
from collections.abc import Callable
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord
from asgiref.sync import sync_to_async
from django import db

import contracts
from contracts import DeadLetter, topics
from contracts.failures import RetryState, dead_letter, header_list
from gateway.consumed import GROUP, RETRY_TOPICS, TOPICS, Seen
from gateway.operations.domain import for_group
from gateway.operations.ingest import dead_letters_store
from gateway.operations.sender import DeadLetterSender
from gateway.orders.projection import Note, project_notes
from gateway.projector.broadcast import Broadcaster
from gateway.projector.failure_notes import dead_letter_note, retry_note
from gateway.projector.projection import project_batch

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
) -> None:
    """Consume until ``stop``; after each committed batch, push what changed to the
    dashboard's browsers (``broadcaster``). Rides out Kafka and PostgreSQL outages."""
    broadcaster = broadcaster or Broadcaster()
    delay = RETRY_INITIAL

    def consuming() -> None:
        nonlocal delay
        delay = RETRY_INITIAL

    while not stop.is_set():
        try:
            await _consume(bootstrap, stop, group, broadcaster, consuming)
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
) -> None:
    """One consumer's life: start it, fold batches until ``stop``; an outage raises."""
    consumer = AIOKafkaConsumer(
        *TOPICS,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=1000,
        fetch_max_wait_ms=100,
    )
    sender = DeadLetterSender(bootstrap)
    try:
        await consumer.start()
        await sync_to_async(_check_database)()
        log.info("projector: consuming %s as group %r", TOPICS, group)
        consuming()
        while not stop.is_set():
            polled = await consumer.getmany(timeout_ms=500, max_records=1000)
            batch: list[Seen] = []
            poison: list[DeadLetter] = []
            notes: list[Note] = []
            for records in polled.values():
                for record in records:
                    if record.topic in RETRY_TOPICS:
                        note = retry_note(
                            record.topic,
                            record.partition,
                            record.offset,
                            record.key,
                            header_list(record.headers),
                            record.timestamp,
                        )
                        if note is not None:
                            notes.append(note)
                        continue
                    seen = _read(record, group, poison)
                    if seen is not None:
                        batch.append(seen)
                        if isinstance(seen.event, DeadLetter):
                            letter = dead_letter_note(
                                seen.topic, seen.partition, seen.offset, seen.event
                            )
                            if letter is not None:
                                notes.append(letter)
            if poison and not await _dead_letter(sender, poison, stop):
                break  # stopped before the broker took them: do not commit past them
            if batch:
                await sync_to_async(project_batch)(batch)
                await sync_to_async(dead_letters_store)(batch)
            if notes:
                await sync_to_async(project_notes)(notes)
            if polled:
                await consumer.commit()
            if batch:
                await broadcaster.publish([seen.event for seen in batch])
    finally:
        with contextlib.suppress(Exception):
            await sender.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(consumer.stop(), 10)


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


def _read(record: ConsumerRecord, group: str, poison: list[DeadLetter]) -> Seen | None:
    """The record's event, or None: not for this group, or poison (added to ``poison``)."""
    headers = header_list(record.headers)
    if not for_group(headers, group):
        return None
    try:
        event = contracts.decode(record.value or b"")
    except contracts.ContractError as exc:
        where = f"{record.topic}[{record.partition}]@{record.offset}"
        if record.topic == topics.DLQ.name:  # a dead letter cannot be dead-lettered again
            log.error("projector: unreadable dead letter %s left in the DLQ: %s", where, exc)
            return None
        log.warning("projector: undecodable message %s dead-lettered: %s", where, exc)
        state = RetryState.first(record.topic, record.partition, record.offset, headers)
        poison.append(
            dead_letter(
                state.failed(datetime.now(UTC), record.topic, exc),
                key=record.key,
                value=record.value or b"",
                headers=headers,
                group=group,
                exc=exc,
                at=datetime.now(UTC),
            )
        )
        return None
    return Seen(record.topic, record.partition, record.offset, event)


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
