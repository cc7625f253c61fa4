"""``python -m gateway -b HOST -p PORT gateway.asgi:application``: daphne (same
arguments as ``python -m daphne``) on the event loop ``EVENT_LOOP`` names (uvloop unless
``asyncio``; ``config.event_loop``).

Daphne makes the loop Twisted's reactor runs on when ``daphne.server`` is imported, so
the loop's kind is chosen here, before that import. Measured 2026-12-03 (two daphnes
side by side, ``GET /health``, 2 cores shared and busy): 3.03-3.17 ms of CPU per request
on uvloop against 3.31-3.56 on asyncio's loop (docs/performance.md).
"""

from __future__ import annotations

import sys

from config import event_loop
from config.env import load


def main() -> None:
    event_loop.install(load().event_loop)
    from daphne.cli import CommandLineInterface  # after install: it makes the loop

    sys.argv[0] = "daphne"
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
