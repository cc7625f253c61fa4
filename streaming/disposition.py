"""``Disposition`` (what became of one message) and ``to_completion``: the leaf both the
guard (``streaming.guard``) and the failure routing (``streaming.failures``) build on."""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Awaitable, Coroutine
from typing import Any, cast


class Disposition(enum.Enum):
    """What became of one message an agent consumed."""

    HANDLED = "handled"
    #: A valid event of a type this agent does not handle (topics carry several types).
    SKIPPED = "skipped"
    #: Not a valid event (undecodable, unknown type, invalid fields): never retryable.
    INVALID = "invalid"
    #: Its handler raised.
    FAILED = "failed"
    #: A retry record put back on its tier before it was due: the consumer's flow
    #: stopped (a rebalance or a stop) while it waited (``streaming.failures``).
    REQUEUED = "requeued"


async def to_completion(work: Awaitable[object]) -> None:
    """Await ``work``; if the agent is cancelled meanwhile (the worker is stopping),
    let the work finish first, then pass the cancellation on.

    Faust acknowledges the event in flight when it cancels an agent, so a handler cut
    off between its state write and its send would lose the send for good (its offset
    is committed). Seen in a test that stops a worker under load: a refund recorded
    in the ledger but never published. Handlers are short (a table write and a send
    to the producer's buffer), and Faust flushes the producer on stop.

    Most handlers never suspend (a table write and a send to the producer's buffer
    complete at once): a coroutine is first run one step in the caller's task, and
    only one that suspends gets a task and a shield (a cancellation can only arrive
    at a suspension). That saves a task and a shield per event (~19 µs, measured).
    """
    if not asyncio.iscoroutine(work):
        await _shielded(asyncio.ensure_future(work))
        return
    try:
        yielded = work.send(None)  # exceptions propagate from here, as from an await
    except StopIteration:
        return
    await _shielded(asyncio.ensure_future(_resume(work, yielded)))


async def _shielded(task: asyncio.Future[object]) -> None:
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            await task
        raise


async def _resume(coro: Coroutine[Any, Any, object], yielded: object) -> object:
    """Run the coroutine ``coro`` on from its first suspension (it yielded ``yielded``,
    a future or None), as a task would have."""
    while True:
        if yielded is None:
            await asyncio.sleep(0)
        else:
            # What a task does with a future its coroutine yields (else awaiting it
            # again raises "await wasn't used with future").
            yielded._asyncio_future_blocking = False  # type: ignore[attr-defined]
            # ``coro`` reads the future's outcome itself when it is sent None.
            with contextlib.suppress(BaseException):
                await cast(Awaitable[object], yielded)
        try:
            yielded = coro.send(None)
        except StopIteration as stop:
            return stop.value
