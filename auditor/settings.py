"""The auditor's settings, read from the environment."""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.domain import Timing
from config.env import PlatformSettings, seconds, setting, string
from streaming.settings import StreamingSettings


@dataclass(frozen=True)
class AuditorSettings:
    """Configuration of one auditor process."""

    platform: PlatformSettings = field(default_factory=PlatformSettings)
    """Kafka and the other shared infrastructure (``KAFKA_BOOTSTRAP_SERVERS``, ...)."""

    streaming: StreamingSettings = field(
        default_factory=lambda: StreamingSettings.from_env("auditor")
    )
    """Metrics and the other worker settings (``METRICS_PORT``, ...)."""

    group: str = setting("AUDITOR_GROUP", string, "auditor")
    """``AUDITOR_GROUP``: the consumer group and Faust app id, ``auditor`` by default. It
    names the table's changelog (``<group>-audits-changelog``) and the keys of its
    summaries on ``audit.v1`` (``<group>:<partition>``). The dashboard's monitor shows the
    summaries of the group this variable names in its own environment."""

    deadline_seconds: float = setting("SAGA_DEADLINE_SECONDS", seconds, 30.0)
    """``SAGA_DEADLINE_SECONDS``: the saga's deadline (the same variable the saga reads):
    an order without an outcome this long plus the grace after its ``OrderPlaced`` is
    overdue."""

    grace_seconds: float = setting("AUDITOR_GRACE_SECONDS", seconds, 30.0)
    """``AUDITOR_GRACE_SECONDS``: how long after a due time (the deadline, an outcome) the
    auditor waits for what must follow (the outcome; refunds, releases, the notice) before
    it counts it missing (30)."""

    interval_seconds: float = setting("AUDITOR_INTERVAL_SECONDS", seconds, 2.0)
    """``AUDITOR_INTERVAL_SECONDS``: how often the time-based checks run and changed
    summaries are published to ``audit.v1`` (2; every summary again at least every 10
    times this)."""

    retention_seconds: float = setting("AUDITOR_RETENTION_SECONDS", seconds, 86400.0)
    """``AUDITOR_RETENTION_SECONDS``: an order is forgotten this long after its last event
    (86400, a day), and events of unknown orders recorded longer ago than this are
    ignored, so a replay of old history never raises an alarm about orders it forgot."""

    def __post_init__(self) -> None:
        for name in ("deadline_seconds", "grace_seconds", "interval_seconds"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.retention_seconds < self.deadline_seconds + 2 * self.grace_seconds:
            raise ValueError(
                "AUDITOR_RETENTION_SECONDS must be at least SAGA_DEADLINE_SECONDS plus twice"
                f" AUDITOR_GRACE_SECONDS, got {self.retention_seconds}"
            )

    @property
    def timing(self) -> Timing:
        return Timing(deadline=self.deadline_seconds, grace=self.grace_seconds)


def load() -> AuditorSettings:
    """Read the auditor's settings from the current environment."""
    return AuditorSettings()
