"""The projector's dashboard push while Redis or the database is down: no change
published, the projector goes on, and the log gets one warning line (no traceback per
batch); any other failure is still logged with its traceback."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
import redis
from django import db

from contracts.testing import order_completed
from gateway.projector.broadcast import Broadcaster

pytestmark = pytest.mark.django_db(transaction=True)

EVENT = order_completed(
    "o-down", at=datetime(2026, 3, 1, tzinfo=UTC), user_id="u1", amount="9.99", currency="USD"
)


class FailingVersions:
    """A version counter that raises ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def next(self) -> int:
        raise self.error

    async def current(self) -> int:
        raise self.error


@pytest.mark.parametrize(
    ("error", "dependency"),
    [
        (redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379."), "redis"),
        (db.OperationalError("terminating connection due to administrator command"), "database"),
    ],
)
async def test_a_push_while_a_dependency_is_down_is_skipped_with_one_warning_line(
    caplog: pytest.LogCaptureFixture, error: Exception, dependency: str
) -> None:
    with caplog.at_level(logging.INFO, logger="dashboard.publisher"):
        published = await Broadcaster(FailingVersions(error)).publish([EVENT])

    assert published is None
    [line] = [r for r in caplog.records if r.name == "dashboard.publisher"]
    assert line.levelno == logging.WARNING and line.exc_info is None
    assert f"{dependency} unavailable" in line.getMessage()
    assert type(error).__name__ in line.getMessage()


async def test_any_other_failure_keeps_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="dashboard.publisher"):
        published = await Broadcaster(FailingVersions(ValueError("a bug"))).publish([EVENT])

    assert published is None
    [line] = [r for r in caplog.records if r.name == "dashboard.publisher"]
    assert line.levelno == logging.ERROR and line.exc_info is not None
