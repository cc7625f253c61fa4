"""Waiting on a condition with a deadline instead of sleeping and hoping.

The one poll-until-deadline loop of the harness and the CLI. A library such as tenacity
would do it too, but would add a dependency for these few lines and still need the
``sleep`` hook below (waking early when a watched process exits).
"""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
    sleep: Callable[[float], object] = time.sleep,
) -> None:
    """Poll ``condition`` until true; after ``timeout`` s raise ``TimeoutError`` naming ``what``.

    Exceptions raised by ``condition`` propagate at once (use them for "gave up").
    ``sleep`` waits between polls (never past the deadline); pass an event's ``wait`` to
    wake as soon as the event is set.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        sleep(min(interval, remaining))
