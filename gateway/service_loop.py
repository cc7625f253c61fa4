"""Run an async service loop until SIGINT/SIGTERM, for the long-running management
commands (relay, projector, dashboard monitor), on the event loop ``EVENT_LOOP``
chooses (uvloop unless ``asyncio``: ``config.event_loop``)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable

from config import event_loop
from config.env import load


def run_until_signalled(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    event_loop.run(runner(), load().event_loop)
