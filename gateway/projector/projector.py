"""The projector process: consume the saga topics in batches and fold them into the read model.

One consumer group (``projector``); offsets are committed only after the batch's
database transaction committed (at least once; the fold is idempotent). One
database round trip set per batch, never per event.

It also reads ``orders.dlq.v1`` into the operators' dead-letter table, and dead-letters
its own poison messages (undecodable or invalid) there before committing past them:
nothing is skipped silently (``contracts.admission``: an order event keyed by another
order is poison too). A redriven record meant for another group (``redrive.group``) is
not for the projector and is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord
from asgiref.sync import sync_to_async

from contracts import DeadLetter, topics
from contracts.admission import admit
from contracts.failures import RetryState, dead_letter, header_list
from gateway.consumed import GROUP, RETRY_TOPICS, TOPICS, Seen
from gateway.operations.ingest import dead_letters_store
from gateway.operations.sender import DeadLetterSender
from gateway.orders.projection import Note, project_notes
from gateway.projector.broadcast import Broadcaster
from gateway.projector.failure_notes import dead_letter_note, retry_note
from gateway.projector.projection import project_batch

log = logging.getLogger("gateway.projector")

__all__ = ["GROUP", "TOPICS", "run"]


async def run(
    bootstrap: list[str],
    stop: asyncio.Event,
    *,
    group: str = GROUP,
    broadcaster: Broadcaster | None = None,
) -> None:
    """Consume until ``stop``; after each committed batch, push what changed to the
    dashboard's browsers (``broadcaster``)."""
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
    broadcaster = broadcaster or Broadcaster()
    await consumer.start()
    log.info("projector: consuming %s as group %r", TOPICS, group)
    try:
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
        await sender.close()
        await consumer.stop()


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
