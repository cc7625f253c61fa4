"""Waiting on a condition with a deadline instead of sleeping and hoping."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
) -> None:
    """Poll ``condition`` until true; after ``timeout`` s raise ``TimeoutError`` naming ``what``.

    Exceptions raised by ``condition`` propagate at once (use them for "gave up").
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
