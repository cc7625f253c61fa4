"""One settings object, read from the environment, shared by every process."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


@dataclass(frozen=True)
class PlatformSettings:
    """Where the platform's infrastructure is, read from environment variables."""

    #: ``KAFKA_BOOTSTRAP_SERVERS``: comma-separated ``host:port`` list of the broker(s).
    kafka_bootstrap_servers: str = field(
        default_factory=lambda: _env("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    #: ``DATABASE_URL``: the gateway's database; SQLite in ``var/`` when unset.
    database_url: str = field(
        default_factory=lambda: _env("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'db.sqlite3'}")
    )
    #: ``REDIS_URL``: Redis for the channel layer and caches.
    redis_url: str = field(default_factory=lambda: _env("REDIS_URL", "redis://127.0.0.1:6379/0"))
    #: ``TOPIC_PARTITIONS``: partitions per project topic (same for every saga topic).
    topic_partitions: int = field(default_factory=lambda: int(_env("TOPIC_PARTITIONS", "6")))

    @property
    def faust_broker(self) -> str:
        """The bootstrap servers in Faust's ``kafka://`` URL form."""
        return ";".join(f"kafka://{s.strip()}" for s in self.kafka_bootstrap_servers.split(","))

    @property
    def bootstrap_list(self) -> list[str]:
        """The bootstrap servers as a list, as aiokafka expects them."""
        return [s.strip() for s in self.kafka_bootstrap_servers.split(",") if s.strip()]


def load() -> PlatformSettings:
    """Read the settings from the current environment."""
    return PlatformSettings()
