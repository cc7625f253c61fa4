"""``EventGuard``: decode, route and contain the failure of every event an agent consumes.

An exception that escapes a Faust agent's loop still acknowledges the message, so
it would be lost. Every agent therefore runs its events through one guard, the
single place where a failing message is dealt with: ``on_invalid`` sends a message
that is no valid event to the dead-letter queue, ``on_failed`` a failed one to the
retry tiers or the dead-letter queue (``streaming.failures``).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import faust
from faust.types import Message

from contracts import ContractError, Event
from contracts.admission import admit
from contracts.failures import Headers, RetryState, header_list
from streaming.disposition import Disposition, to_completion
from streaming.retrying import is_transient, now_utc

log = logging.getLogger(__name__)

#: Handles one decoded event of the type it is routed from.
Handler = Callable[[Any], Awaitable[object]]


class FailureRoute(Protocol):
    """Where a guard sends what failed: ``streaming.failures.FailureHandling`` in a
    worker, a recording fake in tests, nothing (``None``) where failures are only
    logged and counted."""

    #: The consumer group: a redrive names the group it is meant for.
    group: str

    def register(self, guard: EventGuard) -> None:
        """``guard`` handles retries addressed to its name."""

    async def before_attempt(self, attempt: int) -> None:
        """Called before attempt ``attempt`` (1 = first) of a handler: injected faults."""

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

    async def dead_letter(
        self, message: Message, headers: Headers, state: RetryState, exc: BaseException
    ) -> None:
        """Send the message to the dead-letter queue."""

    def counted(self, guard: EventGuard, disposition: Disposition) -> None:
        """One more message of ``guard`` ended in ``disposition``."""


@dataclass(frozen=True)
class Origin:
    """Where a message was read: what a retry or dead letter needs to point back to."""

    topic: str
    partition: int
    offset: int
    key: bytes | None

    @classmethod
    def of(cls, message: Message) -> Origin:
        """The origin of a Faust message."""
        key = message.key
        return cls(
            message.topic,
            message.partition,
            message.offset,
            key if isinstance(key, bytes) or key is None else str(key).encode(),
        )

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset} key={self.key!r}"


class EventGuard:
    """Runs each message of an agent's stream through decode, routing and its handler.

    ``handlers`` maps event classes to their handlers: the one visible place where an
    agent's events are routed. No exception escapes ``process`` except cancellation.

    With ``failures`` (a ``FailureRoute``: the worker's ``streaming.failures.FailureHandling``),
    a failure goes to the retry tiers (transient, see ``streaming.retrying.is_transient``)
    or the dead-letter queue (anything else, and any message that is not a valid event),
    and the service's injected faults apply before each attempt. With ``failures=None``
    (said explicitly: unit tests opt out so), failures are logged and counted only.
    """

    def __init__(
        self,
        name: str,
        handlers: Mapping[type[Event], Handler],
        *,
        failures: FailureRoute | None,
    ) -> None:
        self.name = name
        self.handlers = dict(handlers)
        self.failures = failures
        #: How many messages ended in each disposition since start.
        self.counts: Counter[Disposition] = Counter()
        if failures is not None:
            failures.register(self)

    async def process(self, stream: faust.StreamT[bytes]) -> AsyncIterator[Disposition]:
        """Handle every event of ``stream``, yielding each message's disposition.

        An agent yields these on (``async for o in guard.process(s): yield o``): that
        costs nothing without sinks, and lets ``agent.test_context()`` wait for an
        event to be fully processed.
        """
        async for event in stream.events():
            yield await self.handle(event.message, event.value)

    async def handle(
        self, message: Message, value: object, *, state: RetryState | None = None
    ) -> Disposition:
        """Decode ``value``, route it to its handler, and contain any failure.

        ``state`` is the message's failure history when it comes from a retry tier.
        Its headers are read inside the containment too: a header nobody can read
        (``contracts.failures.decode_history`` already ignores a malformed or hostile
        ``failure.history``) dead-letters the message instead of escaping the agent.
        """
        failures = self.failures
        try:
            headers = header_list(message.headers)
            admission = admit(
                message.key, value, headers, group=failures.group if failures else None
            )
            if admission.skipped:
                return self._count(Disposition.SKIPPED)  # a redrive meant for another group
            if state is None:
                state = RetryState.first(message.topic, message.partition, message.offset, headers)
        except Exception as exc:
            bare = RetryState(message.topic, message.partition, message.offset)
            invalid = ContractError(f"unreadable headers: {type(exc).__name__}: {exc}"[:500])
            return self._count(await self.on_invalid(message, [], bare, invalid))
        decoded = admission.event
        if decoded is None:  # no valid event, or keyed by another order: dead-lettered
            return self._count(await self.on_invalid(message, headers, state, admission.invalid))
        handler = self.handlers.get(type(decoded))
        if handler is None:
            return self._count(Disposition.SKIPPED)
        try:
            if failures is not None:
                await failures.before_attempt(state.attempts + 1)
            await to_completion(handler(decoded))
        except Exception as exc:
            return self._count(await self.on_failed(message, headers, state, decoded, exc))
        return self._count(Disposition.HANDLED)

    def _count(self, disposition: Disposition) -> Disposition:
        self.counts[disposition] += 1
        if self.failures is not None:
            self.failures.counted(self, disposition)
        return disposition

    async def on_invalid(
        self, message: Message, headers: Headers, state: RetryState, exc: ContractError
    ) -> Disposition:
        """A message that is not a valid event: straight to the dead-letter queue."""
        if self.failures is not None:
            await to_completion(
                self.failures.dead_letter(
                    message, headers, state.failed(now_utc(), message.topic, exc), exc
                )
            )
        else:
            log.warning(
                "%s: invalid message at %s dropped (%d so far): %s",
                self.name,
                Origin.of(message),
                self.counts[Disposition.INVALID] + 1,
                exc,
            )
        return Disposition.INVALID

    async def on_failed(
        self, message: Message, headers: Headers, state: RetryState, event: Event, exc: Exception
    ) -> Disposition:
        """A handler raised: retry it later (transient) or dead-letter it."""
        if self.failures is not None:
            await to_completion(
                self.failures.failed(
                    self,
                    message,
                    headers,
                    state.failed(now_utc(), message.topic, exc),
                    exc,
                    transient=is_transient(exc),
                )
            )
        else:
            log.error(
                "%s: %s %s at %s failed (%d so far): %s: %s",
                self.name,
                type(event).__name__,
                event.event_id,
                Origin.of(message),
                self.counts[Disposition.FAILED] + 1,
                type(exc).__name__,
                exc,
                exc_info=exc,
            )
        return Disposition.FAILED
