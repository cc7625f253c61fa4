"""The saga worker's settings, read from the environment."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import timedelta

from config.env import PlatformSettings
from saga.domain import Timing


def _raw(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None else value.strip()


def _seconds(name: str, default: str) -> float:
    raw = _raw(name, default) or default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"{name}={raw!r} is not a number of seconds")
    return value


@dataclass(frozen=True)
class SagaSettings:
    """Configuration of one saga worker process."""

    platform: PlatformSettings = field(default_factory=PlatformSettings)
    """Kafka and the other shared infrastructure (``KAFKA_BOOTSTRAP_SERVERS``, ...)."""

    group: str = field(default_factory=lambda: _raw("SAGA_GROUP", "") or "saga")
    """``SAGA_GROUP``: the consumer group and Faust app id, ``saga`` by default.

    It also names the table's changelog topic (``<group>-sagas-changelog``) and the
    leader-election topic (``<group>-__assignor-__leader``): a new group starts from
    the oldest retained events with an empty table.
    """

    deadline_seconds: float = field(default_factory=lambda: _seconds("SAGA_DEADLINE_SECONDS", "30"))
    """``SAGA_DEADLINE_SECONDS``: an order undecided this long after the saga saw its
    ``OrderPlaced`` is cancelled with reason ``timeout`` (30; see ``saga.domain``)."""

    tick_interval: float = field(default_factory=lambda: _seconds("SAGA_TICK_INTERVAL", "0.5"))
    """``SAGA_TICK_INTERVAL``: seconds between two deadline ticks of each partition (0.5).

    A deadline fires at the first tick at or after it, so at most this late (plus a
    hop through Kafka)."""

    retention_seconds: float = field(
        default_factory=lambda: _seconds("SAGA_RETENTION_SECONDS", "600")
    )
    """``SAGA_RETENTION_SECONDS``: how long a decided order's marker is kept after the
    decision, or after the deadline if later (600). Events of the order arriving within
    it are recognised and ignored; the table holds about this many seconds of orders."""

    def __post_init__(self) -> None:
        if not self.tick_interval > 0:
            raise ValueError(f"tick_interval must be positive, got {self.tick_interval}")
        self.timing  # noqa: B018 -- validate the deadline and retention at startup

    @property
    def timing(self) -> Timing:
        """The deadline and retention these settings configure."""
        return Timing(
            deadline=timedelta(seconds=self.deadline_seconds),
            retention=timedelta(seconds=self.retention_seconds),
        )


def load() -> SagaSettings:
    """Read the saga settings from the current environment."""
    return SagaSettings()
