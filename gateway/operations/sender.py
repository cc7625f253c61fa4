"""Produce dead letters from an async consumer (the projector) and wait for the acks."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import contracts
from contracts import DeadLetter, topics
from contracts.failures import dead_letter_headers
from kafka_admin.producer import LazyProducer


class DeadLetterSender:
    """Sends ``DeadLetter`` records to ``orders.dlq.v1``, keyed by the original key."""

    def __init__(self, bootstrap: list[str]) -> None:
        self.bootstrap = bootstrap
        self.sent = 0
        self._producer = LazyProducer(bootstrap, acks="all", enable_idempotence=True)

    async def send(self, letters: Sequence[DeadLetter]) -> None:
        """Produce every letter and wait until the broker acknowledged all; raise if not."""
        if not letters:
            return
        producer = await self._producer.get()
        try:
            futures = [
                await producer.send(
                    topics.DLQ.name,
                    contracts.encode(letter),
                    key=contracts.key_of(letter),
                    headers=dead_letter_headers(letter),
                )
                for letter in letters
            ]
            await asyncio.gather(*futures)
        except BaseException:
            await self.close()  # a fresh producer for the next try
            raise
        self.sent += len(letters)

    async def close(self) -> None:
        await self._producer.close()
