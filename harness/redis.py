"""A throwaway redis-server on a free loopback port: a password, persistence, no eviction.

Like a deployed Redis: ``requirepass`` (a random password in ``url``), the AOF in its
folder (``appendonly yes``: inventory's stock survives a restart of the server), and a
``maxmemory`` cap with ``noeviction``. The instance is shared: inventory's stock and
order records live in database 0 and must never be evicted (order records carry a TTL,
so even ``volatile-*`` policies would drop them); the dashboard's channel layer uses
database 1 (``gateway.settings.CHANNEL_LAYERS``), whose messages expire on their own.
At the cap, writes fail loudly instead of losing state.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from pathlib import Path

import redis as redis_client

from harness.packages import ensure
from harness.ports import LOOPBACK, free_port
from harness.process import ChildProcess
from harness.server import LocalServer
from harness.waiting import wait_until

READY = "Ready to accept connections"
#: The memory cap of the local server (``noeviction``: see the module docstring).
MAXMEMORY = "256mb"


class RedisServer(LocalServer):
    """redis-server with a password, the AOF and ``noeviction``; ``close()`` stops it and
    deletes its folder."""

    stop_timeout = 10.0

    def __init__(
        self,
        *,
        base_dir: Path | None = None,
        port: int | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.dir = Path(tempfile.mkdtemp(prefix="redis-", dir=base_dir))
        self.password = secrets.token_hex(16)
        super().__init__()
        self.startup_seconds: float | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@{LOOPBACK}:{self.port}/0"

    def start(self) -> None:
        server = ensure("redis-server")["redis-server"]
        began = time.monotonic()
        # The password in a file only its owner reads, not on the command line (``ps``).
        conf = self.dir / "redis.conf"
        conf.write_text(f"requirepass {self.password}\n")
        conf.chmod(0o600)
        argv = [
            server,
            str(conf),
            "--port",
            str(self.port),
            "--bind",
            LOOPBACK,
            "--dir",
            str(self.dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--maxmemory",
            MAXMEMORY,
            "--maxmemory-policy",
            "noeviction",
            "--daemonize",
            "no",
            "--logfile",
            "",
        ]
        self._process = ChildProcess("redis", argv, self.dir / "redis.log", cwd=self.dir)
        self._process.start()
        try:
            self._process.wait_for_output(READY, self.startup_timeout)
            wait_until(
                self._pings,
                timeout=self.startup_timeout,
                what=f"redis PING at {LOOPBACK}:{self.port}",
            )
        except BaseException:
            self._process.stop(timeout=5)
            raise
        self.startup_seconds = time.monotonic() - began

    def _pings(self) -> bool:
        try:
            with redis_client.Redis.from_url(self.url, socket_timeout=1) as client:
                return bool(client.ping())
        except redis_client.ConnectionError:
            return False
