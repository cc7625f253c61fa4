"""The inventory worker's settings, read from the environment."""

from __future__ import annotations

from dataclasses import dataclass, field

from config.env import PlatformSettings, setting, string, whole_seconds
from contracts.topics import STOCK
from inventory.store import DEFAULT_ORDER_TTL, DEFAULT_PREFIX, check_prefix
from streaming.settings import StreamingSettings


@dataclass(frozen=True)
class InventorySettings:
    """Configuration of one inventory worker process (and of ``python -m inventory seed``)."""

    platform: PlatformSettings = field(default_factory=PlatformSettings)
    """Kafka, Redis and the other shared infrastructure (``KAFKA_BOOTSTRAP_SERVERS``,
    ``REDIS_URL``, ...). Stock lives in the Redis of ``REDIS_URL``."""

    streaming: StreamingSettings = field(
        default_factory=lambda: StreamingSettings.from_env("inventory")
    )
    """Retry tiers, injected faults, metrics (``RETRY_DELAYS``, ``INVENTORY_FAULT_*``, ...)."""

    group: str = setting("INVENTORY_GROUP", string, "inventory")
    """``INVENTORY_GROUP``: the consumer group and Faust app id, ``inventory`` by default.

    Every worker of one group shares the same stock (the Redis keys under
    ``key_prefix``); a second group with the same prefix would reserve every order twice.
    """

    key_prefix: str = setting("INVENTORY_KEY_PREFIX", string, DEFAULT_PREFIX)
    """``INVENTORY_KEY_PREFIX``: the namespace of inventory's Redis keys, ``inventory:`` by
    default. Any other prefix must start with ``inventory:`` (tests use one per run)."""

    order_ttl: int = setting("INVENTORY_ORDER_TTL", whole_seconds, DEFAULT_ORDER_TTL)
    """``INVENTORY_ORDER_TTL``: seconds an order's record is kept after its last change,
    7 days by default (the topics' retention: no older event can be redelivered)."""

    stock_topic: str = setting("INVENTORY_STOCK_TOPIC", string, STOCK.name)
    """``INVENTORY_STOCK_TOPIC``: where stock levels are published, ``inventory.stock.v1``
    by default. Tests give each run a topic of its own, so the levels of their made-up
    products never reach the catalogue of a platform sharing the broker."""

    def __post_init__(self) -> None:
        check_prefix(self.key_prefix)

    @property
    def redis_url(self) -> str:
        """Where the stock is: ``REDIS_URL``."""
        return self.platform.redis_url


def load() -> InventorySettings:
    """Read the inventory settings from the current environment."""
    return InventorySettings()
