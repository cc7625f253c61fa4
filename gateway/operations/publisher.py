"""Produce records to Kafka from synchronous code and wait for the broker's acks.

The DLQ tools are operator actions of a few records at a time: one idempotent producer
per call (acks=all), closed afterwards. Tests inject ``FakePublisher`` instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from gateway.operations.domain import Outgoing
from kafka_admin.producer import new_producer


class Publisher(Protocol):
    def publish(self, records: Sequence[Outgoing]) -> list[BaseException | None]:
        """Send ``records``; per record, None once acknowledged or the error."""
        ...


class KafkaPublisher:
    def __init__(self, bootstrap: list[str], *, timeout_s: float = 15.0) -> None:
        self.bootstrap = bootstrap
        self.timeout_s = timeout_s

    def publish(self, records: Sequence[Outgoing]) -> list[BaseException | None]:
        if not records:
            return []
        return asyncio.run(self._publish(records))

    async def _publish(self, records: Sequence[Outgoing]) -> list[BaseException | None]:
        producer = new_producer(
            self.bootstrap,
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=int(self.timeout_s * 1000),
        )
        try:
            await asyncio.wait_for(producer.start(), self.timeout_s)
            futures = [
                await producer.send(r.topic, r.value, key=r.key, headers=r.headers) for r in records
            ]
            results = await asyncio.wait_for(
                asyncio.gather(*futures, return_exceptions=True), self.timeout_s
            )
        except Exception as exc:  # the broker is unreachable: nothing is known to be sent
            return [exc for _ in records]
        finally:
            await producer.stop()
        return [r if isinstance(r, BaseException) else None for r in results]


class FakePublisher:
    """Keeps what it was asked to send; fails every record while ``error`` is set."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []
        self.error: BaseException | None = None

    def publish(self, records: Sequence[Outgoing]) -> list[BaseException | None]:
        if self.error is not None:
            return [self.error for _ in records]
        self.sent.extend(records)
        return [None for _ in records]
