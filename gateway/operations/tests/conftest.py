"""Fixtures of the operations tests: a staff user, and fakes for Kafka and Redis."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from gateway.operations import bootstrap, metrics
from gateway.operations.kafka_figures import KafkaFigures
from gateway.operations.publisher import FakePublisher


class FakeRedis:
    """The two hash commands the fault settings use."""

    def __init__(self) -> None:
        self.hashes: dict[str, dict[bytes, bytes]] = {}

    def hgetall(self, key: str) -> dict[bytes, bytes]:
        return dict(self.hashes.get(key, {}))

    def hset(self, key: str, field: str, value: bytes) -> int:
        self.hashes.setdefault(key, {})[field.encode()] = value
        return 1


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


@pytest.fixture
def staff(db: Any) -> dict[str, str]:
    User.objects.create_user("ops", password="s3cret-pw", is_staff=True)
    return basic("ops", "s3cret-pw")


@pytest.fixture
def staff_client(client: Client, staff: dict[str, str]) -> Client:
    client.defaults.update(staff)
    return client


@pytest.fixture
def publisher(monkeypatch: pytest.MonkeyPatch) -> FakePublisher:
    fake = FakePublisher()
    monkeypatch.setattr(bootstrap, "publisher", lambda: fake)
    return fake


@pytest.fixture
def fake_redis(monkeypatch: pytest.MonkeyPatch) -> FakeRedis:
    fake = FakeRedis()
    monkeypatch.setattr(bootstrap, "redis_client", lambda: fake)
    return fake


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> KafkaFigures:
    figures = KafkaFigures(
        written={"orders.retry.1s.v1": 5, "orders.retry.4s.v1": 2, "orders.retry.16s.v1": 0},
        lag={("orders.v1", 0): 3},
    )
    monkeypatch.setattr(metrics, "_broker", lambda: figures)
    return figures
