"""Root fixtures: the real stack for every integration test, wherever it lives."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

ENV_VARS = ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "REDIS_URL")


@pytest.fixture(scope="session")
def stack_env() -> Iterator[dict[str, str]]:
    """The stack given by `make test` (`sagactl stack -- pytest`), or one started here.

    Never skips: an integration test without infrastructure starts it (or fails).
    """
    if all(os.environ.get(name) for name in ENV_VARS):
        yield {name: os.environ[name] for name in ENV_VARS}
        return
    from harness.stack import Stack

    stack = Stack().start()
    try:
        yield stack.env()
    finally:
        stack.stop()
