"""The saga worker's settings, read from the environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from config.env import PlatformSettings, seconds, setting, string
from saga.domain import Timing
from streaming.settings import StreamingSettings


@dataclass(frozen=True)
class SagaSettings:
    """Configuration of one saga worker process."""

    platform: PlatformSettings = field(default_factory=PlatformSettings)
    """Kafka and the other shared infrastructure (``KAFKA_BOOTSTRAP_SERVERS``, ...)."""

    streaming: StreamingSettings = field(default_factory=lambda: StreamingSettings.from_env("saga"))
    """Retry tiers, injected faults, metrics (``RETRY_DELAYS``, ``SAGA_FAULT_*``, ...)."""

    group: str = setting("SAGA_GROUP", string, "saga")
    """``SAGA_GROUP``: the consumer group and Faust app id, ``saga`` by default.

    It also names the table's changelog topic (``<group>-sagas-changelog``): a new group
    starts from the oldest retained events with an empty table.
    """

    deadline_seconds: float = setting("SAGA_DEADLINE_SECONDS", seconds, 30.0)
    """``SAGA_DEADLINE_SECONDS``: an order undecided this long after the saga saw its
    ``OrderPlaced`` is cancelled with reason ``timeout`` (30; see ``saga.domain``)."""

    tick_interval: float = setting("SAGA_TICK_INTERVAL", seconds, 0.5)
    """``SAGA_TICK_INTERVAL``: seconds between two deadline ticks of a partition with an
    order due (0.5); a partition with nothing due gets none (``saga.agenda``).

    A deadline fires at the first tick at or after it, so at most this late (plus a
    hop through Kafka)."""

    retention_seconds: float = setting("SAGA_RETENTION_SECONDS", seconds, 600.0)
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
