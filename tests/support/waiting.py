"""``eventually``: poll a condition until it holds, failing with what was awaited at the
deadline (never a fixed sleep). ``eventually_async`` is the same for async tests, and
also fails at once, with the worker's log, when a watched worker process died."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import pytest

if TYPE_CHECKING:
    from tests.support.worker import WorkerProcess

T = TypeVar("T")


def eventually(
    probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.05
) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


async def eventually_async(
    what: str,
    check: Callable[[], Awaitable[T]],
    worker: WorkerProcess | None = None,
    *,
    timeout: float,
    interval: float = 0.1,
) -> T:
    """Await ``check`` until it returns something truthy; fail naming ``what`` (with the
    tail of ``worker``'s log) after ``timeout`` seconds, or as soon as ``worker`` exited."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if worker is not None:
            worker.assert_alive()
        if time.monotonic() > deadline:
            tail = "" if worker is None else f"\n{worker.log_tail()}"
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}{tail}")
        await asyncio.sleep(interval)
