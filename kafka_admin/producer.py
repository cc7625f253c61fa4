"""The one producer factory: `new_producer` (one producer, the caller starts and stops
it) and `LazyProducer` (started on first use, shared by every send, dropped after a
failure so the next send gets a fresh one). Each site passes its own settings (acks,
idempotence, linger, timeouts); nothing here chooses them for it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaProducer

from kafka_admin.client import Bootstrap, servers

log = logging.getLogger("kafka_admin.producer")


def new_producer(bootstrap: Bootstrap, **settings: Any) -> AIOKafkaProducer:
    """An ``AIOKafkaProducer`` for ``bootstrap`` with ``settings`` (aiokafka's keyword
    arguments: ``acks``, ``enable_idempotence``, ``linger_ms``, ...); not started."""
    return AIOKafkaProducer(bootstrap_servers=servers(bootstrap), **settings)


class LazyProducer:
    """A producer started on the first :meth:`get` and shared until :meth:`close`."""

    def __init__(self, bootstrap: Bootstrap, **settings: Any) -> None:
        self.bootstrap = bootstrap
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None

    @property
    def started(self) -> bool:
        return self._producer is not None

    async def get(self) -> AIOKafkaProducer:
        """The started producer (started now if there is none; stopped again if the
        start fails)."""
        if self._producer is None:
            producer = new_producer(self.bootstrap, **self.settings)
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def close(self, timeout: float | None = None) -> None:
        """Stop the producer, if one is started; the next :meth:`get` starts a new one.
        With ``timeout``, a stop that fails or takes longer is logged and given up."""
        producer, self._producer = self._producer, None
        if producer is None:
            return
        if timeout is None:
            await producer.stop()
            return
        try:
            await asyncio.wait_for(producer.stop(), timeout)
        except Exception:
            log.debug("producer stop failed", exc_info=True)
