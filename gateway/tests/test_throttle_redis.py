"""The throttle's counters in a real Redis (``GATEWAY_CACHE_URL``): one round trip per
request, the same counter Django's cache API reads, the window's expiry, the limit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.test import RequestFactory

from gateway import throttles

pytestmark = pytest.mark.integration


@pytest.fixture
def redis_cache(stack_env: dict[str, str], settings: Any) -> Iterator[redis.Redis]:
    """``CACHES["default"]`` on the stack's Redis, database 3 (emptied before and after)."""
    url = urlunsplit(urlsplit(stack_env["REDIS_URL"])._replace(path="/3"))
    client = redis.Redis.from_url(url)
    client.flushdb()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/m", "password": "2/m"},
    }
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


def test_a_hit_is_one_round_trip_on_the_counter_django_reads(
    redis_cache: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = throttles.Window("anon", "ip:10.0.0.1")
    assert window.hit()  # builds the process's client
    sent: list[str] = []
    original = redis.Redis.execute_command

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(args[0]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "execute_command", counted)

    assert window.hit()
    assert sent == ["EVALSHA"]  # INCR and, for a new counter, EXPIRE in one script
    assert throttles.counters().get(window.key) == 2
    ttl = redis_cache.ttl(throttles.counters().make_and_validate_key(window.key))
    assert 0 < ttl <= 61


def test_a_redis_that_lost_the_script_gets_it_again(redis_cache: redis.Redis) -> None:
    window = throttles.Window("anon", "ip:10.0.0.4")
    assert window.hit()
    redis_cache.script_flush()  # as after a restart of Redis

    assert window.hit()
    assert throttles.counters().get(window.key) == 2


def test_the_limit_refuses_and_a_given_back_attempt_counts_no_more(
    redis_cache: redis.Redis,
) -> None:
    window = throttles.Window("anon", "ip:10.0.0.2")
    assert [window.hit() for _ in range(4)] == [True, True, True, False]

    lockout = throttles.PasswordLockout(RequestFactory().get("/", REMOTE_ADDR="10.0.0.3"))
    assert lockout.attempt() and lockout.attempt()
    lockout.succeeded()
    assert lockout.attempt()
    assert not lockout.attempt()
