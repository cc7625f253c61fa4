"""``python -m gateway -b HOST -p PORT gateway.asgi:application``: daphne (same
arguments as ``python -m daphne``) on the event loop ``EVENT_LOOP`` names (uvloop unless
``asyncio``; ``config.event_loop``), without daphne's access log unless asked for.

Daphne makes the loop Twisted's reactor runs on when ``daphne.server`` is imported, so
the loop's kind is chosen here, before that import. Measured 2026-12-03 (two daphnes
side by side, ``GET /health``, 2 cores shared and busy): 3.03-3.17 ms of CPU per request
on uvloop against 3.31-3.56 on asyncio's loop (docs/performance.md).

Daphne writes one access-log line per request (and per WebSocket connect and
disconnect) to its standard output at its default verbosity: a formatted line and a
write for every request in the hot path, and one more for whoever reads the output
(``sagactl run`` copies it to the gateway's log file). Here it is off unless
``GATEWAY_ACCESS_LOG=1`` or ``--access-log`` is given.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from config import event_loop
from config.env import load


def access_log_wanted(argv: list[str], environ: dict[str, str] | os._Environ[str]) -> bool:
    """Whether daphne keeps its access log: ``--access-log`` given, or
    ``GATEWAY_ACCESS_LOG`` on (``1``, ``true``, ``yes``, ``on``)."""
    explicit = any(a == "--access-log" or a.startswith("--access-log=") for a in argv)
    flag = environ.get("GATEWAY_ACCESS_LOG", "").strip().lower() in ("1", "true", "yes", "on")
    return explicit or flag


def main() -> None:
    event_loop.install(load().event_loop)
    from daphne.cli import CommandLineInterface  # after install: it makes the loop
    from daphne.server import Server

    keep_access_log = access_log_wanted(sys.argv[1:], os.environ)

    class GatewayServer(Server):  # type: ignore[misc]  # daphne has no type hints
        """Daphne's server, without the access log unless `access_log_wanted`."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            if not keep_access_log:
                kwargs["action_logger"] = None
            super().__init__(*args, **kwargs)

    cli = CommandLineInterface()
    cli.server_class = GatewayServer
    sys.argv[0] = "daphne"
    cli.run(sys.argv[1:])


if __name__ == "__main__":
    main()
