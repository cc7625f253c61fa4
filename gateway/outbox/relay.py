"""The outbox relay: publish committed outbox rows to Kafka, then mark them sent.

Wake-ups: on PostgreSQL the gateway's transaction NOTIFYs ``outbox`` on commit and
the relay LISTENs, so an event leaves within milliseconds without polling; a slow
safety poll catches anything missed (e.g. rows written while the relay was down).
On SQLite (the embedded development database) there is no notification, so the
relay polls every ``sqlite_poll_s``.

Delivery: at least once. A row is marked sent only after the broker acknowledged
it (acks=all); a broker outage delays rows, never drops them. A crash between the
acknowledgement and the mark re-sends the row with the same ``event_id``, which
consumers drop as a duplicate.

Outages: it connects its producer at start and after every failure; while Kafka or
PostgreSQL does not answer it logs "waiting for Kafka/PostgreSQL at ..." with backoff
(and has not printed its "connected" line yet) instead of exiting, and drops a
database connection the server closed so the next attempt opens a new one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from asgiref.sync import sync_to_async
from django import db
from django.db import connection

from gateway.outbox.services import (
    OUTBOX_CHANNEL,
    Pending,
    outbox_mark_sent,
    outbox_purge_sent,
    outbox_unsent,
)
from kafka_admin.producer import LazyProducer

log = logging.getLogger("gateway.relay")


@dataclass(frozen=True)
class RelayConfig:
    bootstrap: list[str]
    batch_size: int = 500
    #: With LISTEN/NOTIFY this is only a safety net for missed notifications.
    safety_poll_s: float = 1.0
    sqlite_poll_s: float = 0.05
    retention: timedelta = timedelta(hours=1)
    purge_every_s: float = 60.0


class OutboxRelay:
    def __init__(self, config: RelayConfig) -> None:
        self.config = config
        self.published = 0
        self._wake = asyncio.Event()
        self._producer = LazyProducer(
            config.bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
            request_timeout_ms=10_000,
            retry_backoff_ms=100,
        )
        self._last_purge = time.monotonic()

    async def run(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(self._listen(stop))
        backoff = 0.1
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    await self._get_producer()  # at start and after a failure: connect first
                    sent = await self.relay_once()
                except Exception as exc:
                    log.warning(
                        "relay: %s (%s: %s); retrying in %.1fs",
                        self._waiting_for(exc),
                        type(exc).__name__,
                        str(exc).strip(),
                        backoff,
                    )
                    await self._producer.close(timeout=5)
                    if isinstance(exc, db.Error):
                        await sync_to_async(_drop_connection)()
                    await _wait_any(stop, timeout=backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                backoff = 0.1
                if sent >= self.config.batch_size:
                    continue  # a full batch: more may be waiting
                # Fewer than a batch: the table is drained up to the moment it was read.
                # A row committed since then has NOTIFYed (``_wake`` is set: no wait),
                # so the relay reads again only when there is something to read.
                await self._maybe_purge()
                await _wait_any(stop, self._wake, timeout=self._idle_timeout())
        finally:
            listener.cancel()
            await self._producer.close(timeout=5)

    async def relay_once(self) -> int:
        """Publish one batch; return how many rows were marked sent."""
        rows = await sync_to_async(outbox_unsent)(limit=self.config.batch_size)
        if not rows:
            return 0
        producer = await self._get_producer()
        futures = [
            await producer.send(r.topic, r.value, key=r.key, headers=r.headers) for r in rows
        ]
        results = await asyncio.gather(*futures, return_exceptions=True)
        done = [
            r.id for r, res in zip(rows, results, strict=True) if not isinstance(res, BaseException)
        ]
        if done:
            await sync_to_async(outbox_mark_sent)(ids=done)
            self.published += len(done)
        failed = [res for res in results if isinstance(res, BaseException)]
        if failed:
            raise failed[0]
        return len(done)

    def _idle_timeout(self) -> float:
        if connection.vendor == "postgresql":
            return self.config.safety_poll_s
        return self.config.sqlite_poll_s

    async def _get_producer(self) -> AIOKafkaProducer:
        """The relay's producer, started (and the connection logged: the harness's
        readiness line) on first use and after a failure closed it."""
        started = self._producer.started
        producer = await self._producer.get()
        if not started:
            log.info("relay: connected to Kafka at %s", ",".join(self.config.bootstrap))
        return producer

    def _waiting_for(self, exc: Exception) -> str:
        """What the relay waits for after ``exc``: ``waiting for Kafka at ...``."""
        if isinstance(exc, db.Error):
            settings = connection.settings_dict
            where = f"{settings.get('HOST') or 'localhost'}:{settings.get('PORT') or ''}"
            name = "PostgreSQL" if connection.vendor == "postgresql" else connection.vendor
            return f"waiting for {name} at {where}"
        if isinstance(exc, (KafkaError, OSError, TimeoutError)):
            return f"waiting for Kafka at {','.join(self.config.bootstrap)}"
        return "publishing failed"

    async def _maybe_purge(self) -> None:
        if time.monotonic() - self._last_purge < self.config.purge_every_s:
            return
        self._last_purge = time.monotonic()
        purged = await sync_to_async(outbox_purge_sent)(older_than=self.config.retention)
        if purged:
            log.info("relay: purged %d sent outbox rows", purged)

    async def _listen(self, stop: asyncio.Event) -> None:
        """LISTEN for the gateway's NOTIFY and wake the relay loop (PostgreSQL only)."""
        if connection.vendor != "postgresql":
            return
        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(**params, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
                    self._wake.set()  # catch up on anything written while not listening
                    async for _ in conn.notifies():
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("relay: LISTEN connection lost (%s); reconnecting", exc)
                await _wait_any(stop, timeout=1.0)


def _drop_connection() -> None:
    """Forget a connection the database server dropped (Django would reuse it)."""
    try:
        connection.close()
    except Exception:
        log.debug("relay: closing the broken connection failed", exc_info=True)


async def _wait_any(*events: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


__all__ = ["OutboxRelay", "Pending", "RelayConfig"]
