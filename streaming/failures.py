"""``failure_handling(app)``: retry tiers, the dead-letter queue and failure injection
for every agent of one worker (the Faust wiring of ``streaming.retrying``).

Once per app it binds the retry tier topics and ``orders.dlq.v1``, adds one retry agent
per tier, follows the service's runtime fault settings, and serves ``/metrics``.
Every ``EventGuard`` made with ``failures=failure_handling(app)`` sends its failed
messages here:

- transient, tiers left: to the next tier's topic, same key and partition, original
  value and headers plus the retry headers (``contracts.failures``), due after the
  tier's delay ± jitter. The main topic's partition moves on at once.
- otherwise: a ``DeadLetter`` on ``orders.dlq.v1``.

A tier's retry agent reads its topic (every group reads every retry record and keeps
its own: ``retry.group``), waits until a record is due and runs it through the guard
named in ``retry.agent``. All records of a tier wait the same delay, so the head of a
partition is always the first due: waiting on it delays nothing behind it. The sends
go out before the offsets of the messages they replace are committed (Faust flushes
the producer first), so a worker killed meanwhile loses nothing: the message is
redelivered. A worker stopping while a record waits sends it to its tier again
before it stops (Faust would otherwise acknowledge the record it cancels).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
import weakref
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING

import faust
from faust.types import Message

from config.env import load as load_env
from config.prometheus import Metrics
from contracts import encode, topics
from contracts.failures import (
    Headers,
    RetryState,
    dead_letter,
    dead_letter_headers,
    header_list,
)
from streaming import commit_watchdog, faults, metrics_http
from streaming.retrying import RetryPolicy, now_utc
from streaming.topics import bind

if TYPE_CHECKING:
    from streaming.guard import EventGuard, Outcome

log = logging.getLogger(__name__)

_handlers: weakref.WeakKeyDictionary[faust.App, FailureHandling] = weakref.WeakKeyDictionary()


def failure_handling(app: faust.App) -> FailureHandling:
    """The one ``FailureHandling`` of ``app`` (made on first use)."""
    handling = _handlers.get(app)
    if handling is None:
        handling = _handlers[app] = FailureHandling(app)
    return handling


class FailureHandling:
    """Where an app's guards send what failed, and the agents that retry it."""

    def __init__(
        self,
        app: faust.App,
        *,
        policy: RetryPolicy | None = None,
        injector: faults.FaultInjector | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.app = app
        self.group = str(app.conf.id)
        self.policy = policy or RetryPolicy.from_env()
        self.default_faults = faults.from_env(self.group)
        self.injector = injector or faults.FaultInjector(self.group, self.default_faults)
        self.metrics = Metrics()
        self.guards: dict[str, EventGuard] = {}
        self._rng = rng or random.Random()
        self._tiers = [bind(app, spec) for spec in topics.RETRY_TIERS[: self.policy.tiers]]
        self._dlq = bind(app, topics.DLQ)
        for number, tier in enumerate(self._tiers):
            app.agent(tier, name=f"retry_tier_{number}")(self._retry_agent(number))
        app.task(self._follow_faults)
        if metrics_http.address_from_env() is not None:
            app.task(self._serve_metrics)
        self.metrics.collect(
            "saga_consumer_lag",
            "Messages of each assigned partition after the committed offset",
            self._lags,
        )
        self.metrics.collect(
            "process_resident_memory_bytes", "Resident memory of this worker", _resident_memory
        )
        self.metrics.collect(
            "saga_fault_injection",
            "Fault settings in force (rate, latency_ms, fail_attempts)",
            lambda: [
                ({"setting": "rate"}, self.injector.settings.failure_rate),
                ({"setting": "latency_ms"}, self.injector.settings.latency_ms),
                ({"setting": "fail_attempts"}, self.injector.settings.fail_attempts),
            ],
        )

    def register(self, guard: EventGuard) -> None:
        if guard.name in self.guards and self.guards[guard.name] is not guard:
            raise ValueError(f"two agents named {guard.name!r} in group {self.group!r}")
        self.guards[guard.name] = guard

    # -- what the guard calls ----------------------------------------------------------

    async def failed(
        self,
        guard: EventGuard,
        message: Message,
        headers: Headers,
        state: RetryState,
        exc: BaseException,
        *,
        transient: bool,
    ) -> None:
        """``state`` (its last attempt included) failed with ``exc``: retry or dead-letter."""
        tier = self.policy.tier_after(state.attempts) if transient else None
        if tier is None:
            await self.dead_letter(message, headers, state, exc)
            return
        delay = self.policy.delay(tier, self._rng)
        due_at_ms = int((time.time() + delay) * 1000)
        await self._tiers[tier].send(
            key=message.key,
            value=message.value,
            partition=message.partition,
            headers=state.headers(headers, group=self.group, agent=guard.name, due_at_ms=due_at_ms),
        )
        self.metrics.inc(
            "saga_retries_total", "Retries scheduled, by tier", group=self.group, tier=str(tier)
        )
        log.warning(
            "%s: attempt %d of %s[%d]@%d failed (%s: %s); retry in %.2fs via %s",
            guard.name,
            state.attempts,
            state.origin_topic,
            state.origin_partition,
            state.origin_offset,
            type(exc).__name__,
            exc,
            delay,
            self._tiers[tier].get_topic_name(),
        )

    async def dead_letter(
        self, message: Message, headers: Headers, state: RetryState, exc: BaseException
    ) -> None:
        value = message.value
        record = dead_letter(
            state,
            key=message.key if isinstance(message.key, bytes) or message.key is None else None,
            value=value if isinstance(value, bytes) else str(value).encode(),
            headers=headers,
            group=self.group,
            exc=exc,
            at=now_utc(),
        )
        await self._dlq.send(
            key=record.key, value=encode(record), headers=dead_letter_headers(record)
        )
        self.metrics.inc(
            "saga_dead_letters_total",
            "Messages sent to the dead-letter queue, by error type",
            group=self.group,
            error_type=record.error_type,
        )
        log.error(
            "%s: %s[%d]@%d dead-lettered after %d attempt(s): %s: %s",
            self.group,
            state.origin_topic,
            state.origin_partition,
            state.origin_offset,
            record.attempts,
            record.error_type,
            record.error_message,
        )

    def counted(self, guard: EventGuard, outcome: Outcome) -> None:
        self.metrics.inc(
            "saga_events_total",
            "Messages processed, by agent and outcome",
            agent=guard.name,
            outcome=outcome.value,
        )

    # -- retry agents --------------------------------------------------------------------

    def _retry_agent(self, number: int):  # type: ignore[no-untyped-def]
        async def retry(stream: faust.StreamT[bytes]) -> AsyncIterator[object]:
            async for event in stream.events():
                yield await self._retry_one(number, event.message)

        retry.__name__ = retry.__qualname__ = f"retry_tier_{number}"
        return retry

    async def _retry_one(self, number: int, message: Message) -> object:
        from streaming.guard import Outcome, to_completion

        headers = header_list(message.headers)
        state = RetryState.from_headers(headers)
        if state is None:
            log.error(
                "%s: %s[%d]@%d has no retry headers; left alone",
                self.group,
                message.topic,
                message.partition,
                message.offset,
            )
            return Outcome.SKIPPED
        if state.group != self.group:
            return Outcome.SKIPPED
        guard = self.guards.get(state.agent)
        if guard is None:
            await self.dead_letter(
                message, headers, state, LookupError(f"no agent {state.agent!r} in {self.group!r}")
            )
            return Outcome.INVALID
        wait = state.due_at_ms / 1000 - time.time()
        if wait > 0:
            try:
                await asyncio.sleep(wait)
            except asyncio.CancelledError:
                # Stopping: Faust acknowledges the record it cancels, so put it back.
                log.info(
                    "%s: stopping; retry of %s[%d]@%d put back on %s",
                    self.group,
                    state.origin_topic,
                    state.origin_partition,
                    state.origin_offset,
                    message.topic,
                )
                await to_completion(
                    self._tiers[number].send(
                        key=message.key,
                        value=message.value,
                        partition=message.partition,
                        headers=headers,
                    )
                )
                raise
        return await guard.handle(message, message.value, state=state)

    # -- background ----------------------------------------------------------------------

    async def _serve_metrics(self) -> None:
        address = metrics_http.address_from_env()
        assert address is not None
        server = await metrics_http.serve(self.metrics, *address)
        async with server:
            await server.serve_forever()

    async def _follow_faults(self) -> None:
        await faults.follow(self.injector, load_env().redis_url, self.default_faults)

    def _lags(self) -> Iterable[tuple[Mapping[str, str], float]]:
        for tp, seen in sorted(commit_watchdog.snapshot(self.app).items()):
            if seen.highwater is not None:
                lag = max(0, seen.highwater - (seen.committed or 0))
                yield {"topic": tp.topic, "partition": str(tp.partition)}, lag


def _resident_memory() -> Iterable[tuple[Mapping[str, str], float]]:
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, IndexError, ValueError):  # not Linux
        return []
    return [({}, pages * os.sysconf("SC_PAGE_SIZE"))]


def contained(app: faust.App, publish: object | None) -> FailureHandling | None:
    """The failure handling for an agent's guard: ``failure_handling(app)`` in a real
    worker; None when the agent was given a fake publisher (a unit test without a
    broker), where failures are only logged and counted."""
    return failure_handling(app) if publish is None else None
