"""``FailureHandling``: retry tiers, the dead-letter queue and failure injection for
every agent of one worker (the Faust wiring of ``streaming.retrying``).

A worker's ``create_app`` builds it from the worker's settings, in explicit steps
(``streaming.app.route_failures``): ``FailureHandling.bind`` binds the retry tier
topics and ``orders.dlq.v1``, ``add_retry_agents`` adds one retry agent per tier and
``follow_faults`` keeps the injected faults in step with Redis. Every ``EventGuard``
given it as ``failures`` (a ``streaming.guard.FailureRoute``) sends its failed
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
redelivered. When the consumer's flow stops while a record waits (a rebalance, or the
worker stopping: Faust then waits for every record in flight), the record is sent to its
tier again at once, unchanged (same partition, same due time), and acknowledged: a stop
or rebalance never waits out a tier's delay, and whoever reads the partition next
retries the copy when it is due. A cancelled wait does the same. The records queued
behind it were never acknowledged: they are read again from the committed offset.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol, cast

import faust
from faust.types import Message

from config.prometheus import Metrics
from contracts import encode, topics
from contracts.failures import (
    RETRY_GROUP,
    FaultSettings,
    Headers,
    RetryState,
    dead_letter,
    dead_letter_headers,
    header,
    header_list,
)
from streaming import faults
from streaming.disposition import Disposition, to_completion
from streaming.guard import EventGuard
from streaming.retrying import RetryPolicy, now_utc
from streaming.topics import bind

log = logging.getLogger(__name__)


class FlowStopped(Protocol):
    """An event set while the consumer's flow is stopped (``Consumer.suspend_flow``)."""

    def is_set(self) -> bool: ...

    async def wait(self) -> object: ...


class FailureHandling:
    """Where an app's guards send what failed, and the agents that retry it.

    It implements ``streaming.guard.FailureRoute``. Made by ``bind``; it does nothing
    else on its own: the retry agents are added by ``add_retry_agents``.
    """

    def __init__(
        self,
        group: str,
        *,
        tiers: list[faust.TopicT],
        dlq: faust.TopicT,
        policy: RetryPolicy,
        injector: faults.FaultInjector,
        metrics: Metrics,
        rng: random.Random | None = None,
        flow_stopped: Callable[[], FlowStopped] | None = None,
    ) -> None:
        if len(tiers) != policy.tiers:
            raise ValueError(f"{policy.tiers} retry tiers configured, {len(tiers)} topics given")
        self.group = group
        self.policy = policy
        self.injector = injector
        self.metrics = metrics
        self.guards: dict[str, EventGuard] = {}
        self._rng = rng or random.Random()
        self._tiers = tiers
        self._dlq = dlq
        #: The consumer's "flow stopped" event (set from a rebalance's or a stop's start
        #: until the flow resumes); None: waits are not cut short (unit tests).
        self._flow_stopped = flow_stopped

    @classmethod
    def bind(
        cls,
        app: faust.App,
        policy: RetryPolicy,
        injector: faults.FaultInjector,
        metrics: Metrics,
    ) -> FailureHandling:
        """The failure handling of ``app``'s group, its tier topics and DLQ bound to ``app``."""
        return cls(
            str(app.conf.id),
            tiers=[bind(app, spec) for spec in topics.RETRY_TIERS[: policy.tiers]],
            dlq=bind(app, topics.DLQ),
            policy=policy,
            injector=injector,
            metrics=metrics,
            # Faust's ``Consumer`` has it; its ``ConsumerT`` type does not declare it.
            flow_stopped=lambda: cast(FlowStopped, cast(Any, app.consumer).suspend_flow),
        )

    def add_retry_agents(self, app: faust.App) -> None:
        """One agent per tier topic, each running the records it reads through their guard."""
        for number, tier in enumerate(self._tiers):
            app.agent(tier, name=f"retry_tier_{number}")(self._retry_agent(number))

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

    async def before_attempt(self, attempt: int) -> None:
        await self.injector.before(attempt)

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

    def counted(self, guard: EventGuard, disposition: Disposition) -> None:
        self.metrics.inc(
            "saga_events_total",
            "Messages processed, by agent and outcome",
            agent=guard.name,
            outcome=disposition.value,
        )

    # -- retry agents --------------------------------------------------------------------

    def wait_s(self, tier: int, due_at_ms: int) -> float:
        """Seconds until ``due_at_ms`` (a ``retry.due-at`` header), clamped to what tier
        ``tier`` can ask for: never less than 0, never more than its delay plus jitter.
        A forged or corrupt due time (past, far future, beyond a float) waits at most
        that long instead of freezing the tier or crashing its agent."""
        longest = self.policy.delays[tier] * (1 + self.policy.jitter)
        left_ms = due_at_ms - int(time.time() * 1000)  # ints: no float overflow
        if left_ms <= 0:
            return 0.0
        if left_ms >= longest * 1000:
            return longest
        return left_ms / 1000

    def _retry_agent(self, number: int):  # type: ignore[no-untyped-def]
        async def retry(stream: faust.StreamT[bytes]) -> AsyncIterator[object]:
            async for event in stream.events():
                yield await self._retry_one(number, event.message)

        retry.__name__ = retry.__qualname__ = f"retry_tier_{number}"
        return retry

    async def _retry_one(self, number: int, message: Message) -> object:
        try:
            headers = header_list(message.headers)
            state = RetryState.from_headers(headers)
        except Exception as exc:
            bare = RetryState(message.topic, message.partition, message.offset)
            await self.dead_letter(message, [], bare, exc)
            return Disposition.INVALID
        if state is None:
            target = header(headers, RETRY_GROUP)
            if target is not None and target.decode(errors="replace") == self.group:
                # Ours, but its retry headers cannot be read (forged or corrupt): the
                # dead-letter queue keeps it for an operator rather than dropping it.
                bare = RetryState(message.topic, message.partition, message.offset)
                await self.dead_letter(
                    message, headers, bare, ValueError("unreadable retry headers")
                )
                return Disposition.INVALID
            log.error(
                "%s: %s[%d]@%d has no retry headers; left alone",
                self.group,
                message.topic,
                message.partition,
                message.offset,
            )
            return Disposition.SKIPPED
        if state.group != self.group:
            return Disposition.SKIPPED
        guard = self.guards.get(state.agent)
        if guard is None:
            await self.dead_letter(
                message, headers, state, LookupError(f"no agent {state.agent!r} in {self.group!r}")
            )
            return Disposition.INVALID
        wait = self.wait_s(number, state.due_at_ms)
        if wait > 0:
            try:
                due = await self._wait_due(wait)
            except asyncio.CancelledError:
                # Faust acknowledges the record it cancels, so put it back.
                await self._put_back(number, message, headers, state, "cancelled")
                raise
            if not due:
                await self._put_back(number, message, headers, state, "flow stopped")
                return Disposition.REQUEUED
        return await guard.handle(message, message.value, state=state)

    async def _wait_due(self, seconds: float) -> bool:
        """Sleep ``seconds``; False as soon as the consumer's flow stops (a rebalance or a
        stop), when Faust waits for the records in flight before it goes on."""
        if self._flow_stopped is None:
            await asyncio.sleep(seconds)
            return True
        stopped = self._flow_stopped()
        if stopped.is_set():
            return False
        waiter = asyncio.ensure_future(stopped.wait())
        try:
            done, _ = await asyncio.wait({waiter}, timeout=seconds)
        finally:
            waiter.cancel()
        return not done

    async def _put_back(
        self, number: int, message: Message, headers: Headers, state: RetryState, why: str
    ) -> None:
        """Send a waiting retry record to its tier again, unchanged (same partition, same
        due time), before Faust acknowledges it: its offset is committed only after the
        producer flushed the copy."""
        log.info(
            "%s: %s; retry of %s[%d]@%d put back on %s",
            self.group,
            why,
            state.origin_topic,
            state.origin_partition,
            state.origin_offset,
            message.topic,
        )
        await to_completion(
            self._tiers[number].send(
                key=message.key, value=message.value, partition=message.partition, headers=headers
            )
        )


def follow_faults(
    app: faust.App, injector: faults.FaultInjector, redis_url: str, default: FaultSettings
) -> None:
    """Keep ``injector`` in step with the runtime fault settings in Redis while ``app`` runs."""

    async def follow() -> None:
        await faults.follow(injector, redis_url, default)

    app.task(follow)
