"""Where the operations code gets its Kafka publisher and Redis client (tests swap them)."""

from __future__ import annotations

import redis
from django.conf import settings

from gateway.operations.publisher import KafkaPublisher, Publisher


def publisher() -> Publisher:
    return KafkaPublisher(settings.PLATFORM.bootstrap_list)


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.PLATFORM.redis_url, socket_timeout=2.0, socket_connect_timeout=2.0
    )
