"""Saga settings read from the environment."""

from __future__ import annotations

from datetime import timedelta

import pytest

from saga.domain import Timing
from saga.settings import load

NAMES = ("SAGA_GROUP", "SAGA_DEADLINE_SECONDS", "SAGA_TICK_INTERVAL", "SAGA_RETENTION_SECONDS")


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    settings = load()
    assert settings.group == "saga"
    assert settings.tick_interval == 0.5
    assert settings.timing == Timing()
    assert settings.timing == Timing(
        deadline=timedelta(seconds=30), retention=timedelta(minutes=10)
    )


def test_everything_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGA_GROUP", "saga-demo")
    monkeypatch.setenv("SAGA_DEADLINE_SECONDS", " 3 ")
    monkeypatch.setenv("SAGA_TICK_INTERVAL", "0.2")
    monkeypatch.setenv("SAGA_RETENTION_SECONDS", "90.5")
    settings = load()
    assert settings.group == "saga-demo"
    assert settings.tick_interval == 0.2
    assert settings.timing == Timing(
        deadline=timedelta(seconds=3), retention=timedelta(seconds=90.5)
    )


def test_empty_values_mean_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NAMES:
        monkeypatch.setenv(name, "")
    assert load().group == "saga"
    assert load().timing == Timing()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SAGA_DEADLINE_SECONDS", "soon"),
        ("SAGA_DEADLINE_SECONDS", "0"),
        ("SAGA_DEADLINE_SECONDS", "nan"),
        ("SAGA_TICK_INTERVAL", "0"),
        ("SAGA_TICK_INTERVAL", "-0.5"),
        ("SAGA_TICK_INTERVAL", "inf"),
        ("SAGA_RETENTION_SECONDS", "-1"),
    ],
)
def test_bad_values_fail_at_startup(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError):
        load()
