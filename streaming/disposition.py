"""``Disposition`` (what became of one message) and ``to_completion``: the leaf both the
guard (``streaming.guard``) and the failure routing (``streaming.failures``) build on."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable


class Disposition(enum.Enum):
    """What became of one message an agent consumed."""

    HANDLED = "handled"
    #: A valid event of a type this agent does not handle (topics carry several types).
    SKIPPED = "skipped"
    #: Not a valid event (undecodable, unknown type, invalid fields): never retryable.
    INVALID = "invalid"
    #: Its handler raised.
    FAILED = "failed"


async def to_completion(work: Awaitable[object]) -> None:
    """Await ``work``; if the agent is cancelled meanwhile (the worker is stopping),
    let the work finish first, then pass the cancellation on.

    Faust acknowledges the event in flight when it cancels an agent, so a handler cut
    off between its state write and its send would lose the send for good (its offset
    is committed). Seen in a test that stops a worker under load: a refund recorded
    in the ledger but never published. Handlers are short (a table write and a send
    to the producer's buffer), and Faust flushes the producer on stop.
    """
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            await task
        raise
