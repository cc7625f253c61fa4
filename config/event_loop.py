"""The event loop a long-running process runs on: uvloop unless ``EVENT_LOOP=asyncio``.

``install`` sets the process's event loop policy, for programs that create their loops
themselves (Faust's worker creates its loop and its consumer thread's loop through the
policy); ``run`` runs one coroutine on a new loop of the chosen kind, like
``asyncio.run``, without changing the policy. The choice is
``PlatformSettings.event_loop`` (``EVENT_LOOP``); measurements in docs/performance.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def install(name: str) -> None:
    """Make ``name`` (``uvloop`` or ``asyncio``) the loop every new event loop is made of.

    Call it before the program creates its first loop: a loop that exists already keeps
    its kind.
    """
    if name == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    else:
        asyncio.set_event_loop_policy(None)


def run(main: Coroutine[Any, Any, T], name: str) -> T:
    """Run ``main`` to completion on a new event loop of the kind ``name``."""
    if name == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)


def current() -> str:
    """The kind of the running loop: ``uvloop`` or ``asyncio`` (for logs and tests)."""
    loop = asyncio.get_running_loop()
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
