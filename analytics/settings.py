"""The analytics worker's settings, read from the environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from analytics.windows import HOPPING_SIZE, MINUTE
from config.env import PlatformSettings, non_negative, setting, string
from streaming.settings import StreamingSettings


def _count(name: str, raw: str) -> int:
    """A non-negative number, rounded down."""
    return int(non_negative(name, raw))


@dataclass(frozen=True)
class AnalyticsSettings:
    """Configuration of one analytics worker process."""

    platform: PlatformSettings = field(default_factory=PlatformSettings)
    """Kafka and the other shared infrastructure (``KAFKA_BOOTSTRAP_SERVERS``, ...)."""

    streaming: StreamingSettings = field(
        default_factory=lambda: StreamingSettings.from_env("analytics")
    )
    """Retry tiers, injected faults, metrics (``RETRY_DELAYS``, ``ANALYTICS_FAULT_*``, ...)."""

    group: str = setting("ANALYTICS_GROUP", string, "analytics")
    """``ANALYTICS_GROUP``: the consumer group and Faust app id, ``analytics`` by default.
    It names the tables' changelogs (``<group>-<table>-changelog``) and the key of the
    group's ``MinuteCountsUpdated`` messages."""

    snapshot_interval: float = setting("ANALYTICS_SNAPSHOT_INTERVAL", non_negative, 2.0)
    """``ANALYTICS_SNAPSHOT_INTERVAL``: seconds between two rounds of snapshots (2). Each
    round publishes the minutes that changed, then the windows that changed: a change
    reaches ``analytics.snapshots.v1`` within about two intervals."""

    top: int = setting("ANALYTICS_TOP_N", _count, 10)
    """``ANALYTICS_TOP_N``: how many products (by units, and by revenue) and pages a
    snapshot lists (10)."""

    grace_seconds: float = setting("ANALYTICS_GRACE_SECONDS", non_negative, 10.0)
    """``ANALYTICS_GRACE_SECONDS``: how long past the end of its minute (by the
    partition's watermark) an event is still counted (10); later ones are late."""

    retention_seconds: float = setting("ANALYTICS_RETENTION_SECONDS", non_negative, 900.0)
    """``ANALYTICS_RETENTION_SECONDS``: event time an order's memo and a minute's counts
    are kept after their last event, by the partition's watermark (900). At least the
    hopping window plus a minute and the grace, so no open window loses a minute."""

    def __post_init__(self) -> None:
        if not self.snapshot_interval > 0:
            raise ValueError(f"snapshot_interval must be positive, got {self.snapshot_interval}")
        if self.top < 1:
            raise ValueError(f"ANALYTICS_TOP_N must be at least 1, got {self.top}")
        if self.retention < HOPPING_SIZE + MINUTE + self.grace:
            raise ValueError(
                f"ANALYTICS_RETENTION_SECONDS={self.retention_seconds:g} must be at least "
                f"{(HOPPING_SIZE + MINUTE + self.grace).total_seconds():g} (the hopping "
                "window, a minute and the grace)"
            )

    @property
    def grace(self) -> timedelta:
        return timedelta(seconds=self.grace_seconds)

    @property
    def retention(self) -> timedelta:
        return timedelta(seconds=self.retention_seconds)


def load() -> AnalyticsSettings:
    """Read the analytics settings from the current environment."""
    return AnalyticsSettings()
