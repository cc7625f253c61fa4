"""Fixtures for the integration tier: the real stack and the running platform."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from harness.control import ControlServer
from harness.healing import RestartPolicy
from harness.runner import Platform, PlatformOptions
from tests.integration.support import fresh_database

ROOT = Path(__file__).resolve().parents[2]

WALKING_SKELETON = ["gateway", "relay", "projector", "payment"]


def start_platform(
    env: dict[str, str],
    tmp: Path,
    services: list[str] = WALKING_SKELETON,
    *,
    redis_db: int | None = None,
    scale: dict[str, int] | None = None,
    cohost: bool = False,
) -> Platform:
    """The platform's processes on a fresh database, logging to files under ``tmp``.

    ``redis_db``: a Redis database of the module's own, emptied first (a fresh
    catalogue and no fault settings left by another module). The broker is shared, so
    the ``inventory`` group has consumed orders of earlier modules: the new store is
    seeded with ``seed --reset``, the documented way to start over on purpose, which
    inventory's start check (an empty store with history) then accepts.
    """
    env = {**env, "DATABASE_URL": fresh_database(env["DATABASE_URL"])}
    if redis_db is not None:
        env["REDIS_URL"] = f"{env['REDIS_URL'].rsplit('/', 1)[0]}/{redis_db}"
        client = redis.Redis.from_url(env["REDIS_URL"])
        try:
            client.flushdb()
        finally:
            client.close()
        subprocess.run(
            [sys.executable, "-m", "inventory", "seed", "--reset"],
            env={**os.environ, **env},
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=120,
        )
    platform = Platform(
        env,
        # Heals as `sagactl run` does. A test's `supervisor.kill`/`stop` is deliberate and
        # never undone; a crash nobody asked for is restarted (and counted).
        PlatformOptions(
            services=services,
            scale=scale or {},
            log_dir=tmp / "logs",
            restart=RestartPolicy(),
            cohost=cohost,
        ),
    )
    platform.start()
    return platform


@contextlib.contextmanager
def controlled_platform(
    env: dict[str, str], tmp: Path, services: list[str], *, redis_db: int
) -> Iterator[tuple[Platform, Path]]:
    """``start_platform`` with a control socket, as `sagactl run` has one: the real
    command line (`sagactl scale`, `replay --stop-local`) can drive it."""
    platform = start_platform(env, tmp, services, redis_db=redis_db)
    with tempfile.TemporaryDirectory(prefix="ctl") as folder:
        sock = Path(folder) / "control.sock"
        try:
            with ControlServer(platform, sock):
                yield platform, sock
        finally:
            platform.stop()


@pytest.fixture(scope="module")
def platform(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    running = start_platform(stack_env, tmp_path_factory.mktemp("platform"))
    try:
        yield running
    finally:
        running.stop()


@contextlib.contextmanager
def audited_platform(
    env: dict[str, str],
    tmp: Path,
    services: list[str],
    *,
    redis_db: int,
    settings: dict[str, str],
) -> Iterator[Platform]:
    """``start_platform`` with an auditor of a group of its own that starts at the end of
    its inputs (the shared broker holds earlier modules' orders, which it must not
    judge); ``settings`` are the auditor's (``AUDITOR_GROUP`` among them) and others."""
    from auditor.agent import INPUTS
    from tests.integration.support import start_at_the_end

    env = {**env, **settings}
    start_at_the_end(
        env["KAFKA_BOOTSTRAP_SERVERS"], env["AUDITOR_GROUP"], [spec.name for spec in INPUTS]
    )
    platform = start_platform(env, tmp, services, redis_db=redis_db)
    try:
        yield platform
    finally:
        platform.stop()
