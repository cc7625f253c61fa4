"""``streaming.fetch``: an observer app (``observer=True``) makes its aiokafka consumer with
coalesced fetches; one made without keeps aiokafka's answer-at-once fetches. Nothing
here starts a consumer (no broker needed)."""

from __future__ import annotations

from typing import Any

import pytest

from config.env import PlatformSettings
from kafka_admin import fetch as kafka_fetch
from streaming import create_app
from streaming.upstream import direct_delivery


def _worker_consumer(app: Any) -> Any:
    """The aiokafka consumer ``app``'s consumer thread would start."""
    consumer = app.consumer
    assert isinstance(consumer, direct_delivery.DirectDeliveryConsumer)
    thread = consumer._new_consumer_thread()
    return thread._create_worker_consumer(app.transport)


def _settings(wait_ms: int = 100) -> PlatformSettings:
    return PlatformSettings(
        kafka_bootstrap_servers="127.0.0.1:1", topic_partitions=1, observer_fetch_wait_ms=wait_ms
    )


async def test_an_app_with_a_wait_fetches_every_wait() -> None:
    app = create_app("fetch-test-wait", _settings(150), observer=True)
    made = _worker_consumer(app)
    assert (made._fetch_min_bytes, made._fetch_max_wait_ms) == (kafka_fetch.MIN_BYTES, 150)


async def test_an_app_without_a_wait_answers_on_the_first_record() -> None:
    app = create_app("fetch-test-none", _settings())
    made = _worker_consumer(app)
    assert made._fetch_min_bytes == 1
    assert type(app.consumer) is direct_delivery.DirectDeliveryConsumer


def test_a_negative_wait_is_refused_when_the_app_is_made() -> None:
    with pytest.raises(ValueError, match="-3"):
        create_app("fetch-test-bad", _settings(-3), observer=True)
