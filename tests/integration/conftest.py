"""Fixtures for the integration tier: the real stack and the running platform."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagactl.infra.stack import Stack
from sagactl.platform import Platform, PlatformOptions
from tests.integration.support import fresh_database

ENV_VARS = ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "REDIS_URL")
WALKING_SKELETON = ["gateway", "relay", "projector", "payment"]


@pytest.fixture(scope="session")
def stack_env() -> Iterator[dict[str, str]]:
    """The stack given by `make test` (`sagactl stack -- pytest`), or one started here."""
    if all(os.environ.get(name) for name in ENV_VARS):
        yield {name: os.environ[name] for name in ENV_VARS}
        return
    stack = Stack().start()
    try:
        yield stack.env()
    finally:
        stack.stop()


def start_platform(
    env: dict[str, str], tmp: Path, services: list[str] = WALKING_SKELETON
) -> Platform:
    """The platform's processes on a fresh database, logging to files under ``tmp``."""
    env = {**env, "DATABASE_URL": fresh_database(env["DATABASE_URL"])}
    platform = Platform(
        env,
        PlatformOptions(services=services, log_dir=tmp / "logs", var_dir=tmp / "var"),
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
