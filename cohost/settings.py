"""The co-hosted worker's settings, read from the environment."""

from __future__ import annotations

from dataclasses import dataclass, field

from config.env import PlatformSettings, names, setting, string
from streaming.settings import StreamingSettings

#: The services one co-hosted worker can run, in the order their agents are installed.
SERVICES = ("payment", "inventory", "saga", "notification", "analytics")


@dataclass(frozen=True)
class CohostSettings:
    """Configuration of one co-hosted worker process. Each service's own settings
    (``PAYMENT_CREDIT_LIMIT``, ``SAGA_DEADLINE_SECONDS``, ...) apply as in its own
    worker, except its group (``PAYMENT_GROUP``, ...): the agents share this one."""

    platform: PlatformSettings = field(default_factory=PlatformSettings)
    """Kafka and the other shared infrastructure (``KAFKA_BOOTSTRAP_SERVERS``, ...)."""

    streaming: StreamingSettings = field(
        default_factory=lambda: StreamingSettings.from_env("workers")
    )
    """Retry tiers, injected faults (``WORKERS_FAULT_*``, one set for every agent), metrics."""

    group: str = setting("WORKERS_GROUP", string, "workers")
    """``WORKERS_GROUP``: the consumer group and Faust app id of the co-hosted worker,
    ``workers`` by default. It names every table's changelog (``<group>-ledger-changelog``,
    ``<group>-sagas-changelog``, ...): a co-hosted platform does not share state or
    offsets with one run as separate workers, so pick one mode per deployment."""

    services: frozenset[str] = setting("WORKERS_SERVICES", names, frozenset(SERVICES))
    """``WORKERS_SERVICES``: comma-separated services whose agents the worker runs (all
    five by default: payment, inventory, saga, notification, analytics)."""

    def __post_init__(self) -> None:
        unknown = sorted(self.services - set(SERVICES))
        if unknown or not self.services:
            raise ValueError(
                f"WORKERS_SERVICES: {', '.join(unknown) or '(none)'} is not one of "
                f"{', '.join(SERVICES)}"
            )


def load() -> CohostSettings:
    """Read the co-hosted worker's settings from the current environment."""
    return CohostSettings()
