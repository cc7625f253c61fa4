"""Fixtures for the integration tier: the real stack and the running platform."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sagactl.platform import Platform, PlatformOptions
from tests.integration.support import fresh_database

WALKING_SKELETON = ["gateway", "relay", "projector", "payment"]


def start_platform(
    env: dict[str, str], tmp: Path, services: list[str] = WALKING_SKELETON
) -> Platform:
    """The platform's processes on a fresh database, logging to files under ``tmp``."""
    env = {**env, "DATABASE_URL": fresh_database(env["DATABASE_URL"])}
    platform = Platform(
        env,
        PlatformOptions(services=services, log_dir=tmp / "logs"),
    )
    platform.start()
    return platform


@pytest.fixture(scope="module")
def platform(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    running = start_platform(stack_env, tmp_path_factory.mktemp("platform"))
    try:
        yield running
    finally:
        running.stop()
