"""Failure injection: make a service's event handling slow or failing, on purpose.

Each worker starts with the settings of its environment (``<SERVICE>_FAULT_RATE``,
``<SERVICE>_FAULT_LATENCY_MS``, ``<SERVICE>_FAULT_FAIL_ATTEMPTS``; all 0 by default;
read by ``streaming.settings``)
and follows the runtime settings an operator stores in Redis (``contracts.failures``:
hash ``FAULTS_KEY``, field = service), re-read about every second. An injected failure
is an ``InjectedFault``, a ``TransientError``: it goes through the retry tiers like a
dependency timing out would.
"""

from __future__ import annotations

import asyncio
import logging
import random

import msgspec

from contracts.failures import FAULTS_KEY, FaultSettings, decode_faults
from streaming.retrying import TransientError

log = logging.getLogger(__name__)

#: How often a worker re-reads its runtime fault settings, seconds.
REFRESH_S = 1.0


class InjectedFault(TransientError):
    """A failure injected on purpose (``FaultSettings``)."""


class FaultInjector:
    """Applies one service's current ``FaultSettings`` before each attempt."""

    def __init__(self, service: str, settings: FaultSettings, rng: random.Random | None = None):
        self.service = service
        self.settings = settings
        self._rng = rng or random.Random()

    async def before(self, attempt: int) -> None:
        """Called before attempt number ``attempt`` (1 = first) of an event's handler."""
        current = self.settings
        if not current.active:
            return
        if current.latency_ms:
            await asyncio.sleep(current.latency_ms / 1000)
        if attempt <= current.fail_attempts:
            raise InjectedFault(
                f"{self.service}: injected failure of attempt {attempt} "
                f"(first {current.fail_attempts} attempts fail)"
            )
        if current.failure_rate and self._rng.random() < current.failure_rate:
            raise InjectedFault(
                f"{self.service}: injected failure (rate {current.failure_rate:.2f})"
            )

    def update(self, raw: bytes | str | None, default: FaultSettings) -> None:
        """Adopt the runtime settings ``raw`` (Redis), or ``default`` when there are none."""
        if raw is None:
            settings = default
        else:
            try:
                settings = decode_faults(raw)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                log.error(
                    "%s: ignoring invalid fault settings in Redis %r: %s", self.service, raw, exc
                )
                return
        if settings != self.settings:
            log.warning("%s: fault injection now %s", self.service, settings)
            self.settings = settings


async def follow(injector: FaultInjector, redis_url: str, default: FaultSettings) -> None:
    """Keep ``injector`` in step with the runtime settings in Redis, forever.

    Redis being down leaves the last settings in force (logged once per outage).
    """
    from redis import asyncio as redis_async
    from redis.exceptions import RedisError

    client = redis_async.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    down = False
    try:
        while True:
            try:
                raw = await client.hget(FAULTS_KEY, injector.service)
            except (RedisError, OSError) as exc:
                if not down:
                    log.warning(
                        "%s: cannot read fault settings from Redis: %s", injector.service, exc
                    )
                down = True
            else:
                down = False
                injector.update(raw, default)
            await asyncio.sleep(REFRESH_S)
    finally:
        await client.aclose()
