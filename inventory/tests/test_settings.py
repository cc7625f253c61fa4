"""Inventory settings read from the environment."""

from __future__ import annotations

import pytest

from inventory.settings import load
from inventory.store import check_prefix

NAMES = (
    "INVENTORY_GROUP",
    "INVENTORY_KEY_PREFIX",
    "INVENTORY_ORDER_TTL",
    "INVENTORY_STOCK_TOPIC",
    "REDIS_URL",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    settings = load()
    assert settings.group == "inventory"
    assert settings.key_prefix == "inventory:"
    assert settings.order_ttl == 7 * 24 * 3600
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.stock_topic == "inventory.stock.v1"


def test_everything_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENTORY_GROUP", "inventory-demo")
    monkeypatch.setenv("INVENTORY_KEY_PREFIX", "inventory:test-1:")
    monkeypatch.setenv("INVENTORY_ORDER_TTL", "60")
    monkeypatch.setenv("REDIS_URL", "redis://redis:6379/3")
    monkeypatch.setenv("INVENTORY_STOCK_TOPIC", "inventory.stock.test")
    settings = load()
    assert settings.group == "inventory-demo"
    assert settings.key_prefix == "inventory:test-1:"
    assert settings.order_ttl == 60
    assert settings.redis_url == "redis://redis:6379/3"
    assert settings.stock_topic == "inventory.stock.test"


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("INVENTORY_KEY_PREFIX", "stock:", "must start with 'inventory:'"),
        ("INVENTORY_KEY_PREFIX", "inventory:*", "must start with"),
        ("INVENTORY_ORDER_TTL", "a week", "INVENTORY_ORDER_TTL"),
        ("INVENTORY_ORDER_TTL", "0", "at least 1 second"),
    ],
)
def test_bad_values_fail_at_startup(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, match: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=match):
        load()


@pytest.mark.parametrize("prefix", ["inventory:\n", "inventory:a b", "Inventory:", ""])
def test_a_prefix_outside_the_namespace_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="must start with"):
        check_prefix(prefix)
