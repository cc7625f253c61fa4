"""Request rates: fixed-window counters in Django's cache, per client IP or staff user.

Scopes and their rates are ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (from the
``GATEWAY_THROTTLE_*`` environment, see ``gateway.settings``), each ``N/<k><unit>``
(``100/s``, ``30/m``, ``10/15m``) or ``off``:

- ``anon``: every DRF endpoint without a scope of its own (the JSON API), per client;
- ``staff``: the staff API, per user;
- ``public``: plain Django views that read Kafka or write rows (``/``, ``/ready``,
  ``/metrics``, ``/metrics/dlq``), per client IP (:func:`throttled`);
- ``page_views``: page views recorded per client IP (:func:`page_view_due`);
- ``password``: password checks per client IP (:class:`PasswordLockout`).

One counter per key and window (``cache.add`` then ``cache.incr``; on Redis one atomic
``INCR``-and-expire script: O(1), one round trip), not DRF's list of timestamps per
client, which costs O(rate) on every request.

The counters use one cache instance per process (:func:`counters`), not Django's
``cache``: that one is per request context under ASGI, so with ``GATEWAY_CACHE_URL`` every
request built a Redis client and opened a connection of its own (measured: about a
third of the CPU of an order POST).
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.throttling import BaseThrottle

_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*([smhd])[a-z]*\s*")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(text: str | None) -> tuple[int, int] | None:
    """``"10/15m"`` -> ``(10, 900)`` (requests, window seconds); ``off``/empty -> None."""
    if text is None or text.strip().lower() in ("", "off", "none", "0"):
        return None
    found = _RATE.fullmatch(text)
    if not found:
        raise ValueError(f"a rate is N/<k><s|m|h|d> (e.g. 10/15m) or off, not {text!r}")
    count, multiple, unit = found.groups()
    return int(count), int(multiple or 1) * _UNIT_S[unit]


def rate(scope: str) -> tuple[int, int] | None:
    rates = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES") or {}
    assert isinstance(rates, dict)
    found = rates.get(scope)
    return parse_rate(found if isinstance(found, str) else None)


def client_ip(request: Any) -> str:
    """REMOTE_ADDR, or X-Forwarded-For as far as ``NUM_PROXIES`` trusts it (DRF's rule)."""
    return BaseThrottle().get_ident(request)


_counters: BaseCache | None = None
#: With a Redis cache: one client of its pool, for `_redis_hit`.
_redis: Any = None


def counters() -> BaseCache:
    """The process's cache for the counters: ``CACHES["default"]``, built once and shared
    by every request and thread (a Redis client keeps its connection pool)."""
    global _counters, _redis, _hit_script
    found = _counters
    if found is None:
        found = caches.create_connection(DEFAULT_CACHE_ALIAS)
        if isinstance(found, RedisCache):
            _redis = found._cache.get_client(write=True)
            _hit_script = _redis.register_script(_HIT)
        _counters = found
    return found


#: One counter hit, atomic in Redis: add one, and give a new counter its expiry.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
#: `_HIT` registered with the Redis client (``EVALSHA``; loaded again if Redis lost it).
_hit_script: Any = None


def _redis_hit(cache: BaseCache, key: str, timeout: int) -> int:
    """The counter ``key`` after adding one, expiring after ``timeout`` s if it is new:
    one command (`_HIT`, atomic), the same key and value as ``cache.add`` and
    ``cache.incr`` (which take three round trips; a ``MULTI``/``EXEC`` pipeline of
    ``SET NX EX`` and ``INCR`` took one, with twice the client's work)."""
    return int(_hit_script(keys=[cache.make_and_validate_key(key)], args=[timeout]))


def _forget_counters(*, setting: str, **kwargs: Any) -> None:
    """Tests that change ``CACHES`` get a cache built from the new settings."""
    global _counters, _redis, _hit_script
    if setting == "CACHES":
        _counters = _redis = _hit_script = None


setting_changed.connect(_forget_counters)


class Window:
    """The current fixed window of ``scope`` for ``ident``: a counter in the cache."""

    def __init__(self, scope: str, ident: str) -> None:
        self.limit: int | None = None
        self.wait_s = 0.0
        found = rate(scope)
        if found is None:
            self.key = ""
            return
        self.limit, period = found
        now = time.time()
        index = int(now // period)
        self.wait_s = (index + 1) * period - now
        self.key = f"throttle:{scope}:{ident}:{index}"
        self._period = period

    def hit(self) -> bool:
        """Count one request; whether it is within the rate."""
        if self.limit is None:
            return True
        cache = counters()
        if _redis is not None:
            return _redis_hit(cache, self.key, self._period + 1) <= self.limit
        cache.add(self.key, 0, timeout=self._period + 1)
        try:
            count = cache.incr(self.key)
        except ValueError:  # expired between add and incr
            cache.set(self.key, 1, timeout=self._period + 1)
            count = 1
        return count <= self.limit

    def give_back(self) -> None:
        if self.limit is not None:
            with contextlib.suppress(ValueError):  # the window has ended meanwhile
                counters().decr(self.key)


class ScopedThrottle(BaseThrottle):
    """A DRF throttle: ``scope``'s rate per staff user (when authenticated) or client IP."""

    scope = ""

    def __init__(self) -> None:
        self._wait = 0.0

    def allow_request(self, request: Any, view: Any) -> bool:
        user = getattr(request, "user", None)
        ident = (
            f"user:{user.pk}"
            if user is not None and user.is_authenticated
            else f"ip:{self.get_ident(request)}"
        )
        window = Window(self.scope, ident)
        self._wait = window.wait_s
        return window.hit()

    def wait(self) -> float:
        return self._wait


class AnonThrottle(ScopedThrottle):
    scope = "anon"


class StaffThrottle(ScopedThrottle):
    scope = "staff"


def too_many(wait_s: float, detail: str = "Request was throttled.") -> JsonResponse:
    """429 in the API's error shape, with ``Retry-After`` (whole seconds)."""
    seconds = max(1, math.ceil(wait_s))
    text = f"{detail} Expected available in {seconds} seconds."
    # gateway.errors' problem shape, built here: DRF imports this module while loading
    # its views (DEFAULT_THROTTLE_CLASSES), before gateway.errors can be imported.
    errors = [{"field": "rate", "code": "throttled", "message": text}]
    body = {"status": 429, "type": "throttled", "detail": text, "errors": errors}
    response = JsonResponse(body, status=429)
    response["Retry-After"] = str(seconds)
    return response


def throttled(scope: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorate a plain Django view: ``scope``'s rate per client IP, else a JSON 429."""

    def wrap(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            window = Window(scope, f"ip:{client_ip(request)}")
            if not window.hit():
                return too_many(window.wait_s)
            return view(request, *args, **kwargs)

        return inner

    return wrap


def page_view_due(request: HttpRequest) -> bool:
    """Whether this page load is recorded as a page view: the first ``page_views`` of a
    client IP per window are, later ones are served but not counted (so one client cannot
    write an outbox row per request)."""
    return Window("page_views", f"ip:{client_ip(request)}").hit()


class PasswordLockout:
    """Password checks per client IP (``/login`` and HTTP Basic share the budget).

    :meth:`attempt` counts the attempt *before* the ~0.5 s PBKDF2 hash (so concurrent
    guesses cannot all get through) and refuses once the window's budget is spent;
    :meth:`succeeded` gives a successful attempt back, so only failures use it up.
    """

    def __init__(self, request: Any) -> None:
        self.window = Window("password", f"ip:{client_ip(request)}")

    def attempt(self) -> bool:
        return self.window.hit()

    def succeeded(self) -> None:
        self.window.give_back()

    def refusal(self) -> JsonResponse:
        return too_many(self.window.wait_s, "Too many password attempts from this address.")
