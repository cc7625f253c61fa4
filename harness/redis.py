"""A throwaway redis-server on a free loopback port, without persistence."""

from __future__ import annotations

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


class RedisServer(LocalServer):
    """redis-server with ``save ""`` and no AOF; ``close()`` stops it and deletes its folder."""

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
        super().__init__()
        self.startup_seconds: float | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self) -> None:
        server = ensure("redis-server")["redis-server"]
        began = time.monotonic()
        argv = [
            server,
            "--port",
            str(self.port),
            "--bind",
            LOOPBACK,
            "--dir",
            str(self.dir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--logfile",
            "",
        ]
        self._process = ChildProcess("redis", argv, self.dir / "redis.log", cwd=self.dir)
        self._process.start()
        try:
            self._process.wait_for_output(READY, self.startup_timeout)
            wait_until(self._pings, timeout=self.startup_timeout, what=f"redis PING at {self.url}")
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
