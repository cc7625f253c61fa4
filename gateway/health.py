"""Liveness (`/health`) and readiness (`/ready`: Kafka, database, Redis).

`/ready` is anonymous and touches the broker: each client IP has the ``public`` request
rate (``gateway.throttles``), and the broker probe is one shared reading per process
reused for ``KAFKA_READING_TTL_S``. `/health` is free: it touches nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from gateway.memo import KAFKA_READING_TTL_S, Memo
from gateway.outbox.services import outbox_state
from gateway.throttles import throttled
from kafka_admin.client import admin

CHECK_TIMEOUT_S = 2.0


def health(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> None:
    client = redis.Redis.from_url(
        settings.PLATFORM.redis_url,
        socket_timeout=CHECK_TIMEOUT_S,
        socket_connect_timeout=CHECK_TIMEOUT_S,
    )
    try:
        client.ping()
    finally:
        client.close()


def _kafka_probe() -> Exception | None:
    async def probe() -> None:
        async with admin(
            settings.PLATFORM.bootstrap_list,
            request_timeout_ms=int(CHECK_TIMEOUT_S * 1000),
            start_timeout=CHECK_TIMEOUT_S,
        ) as client:
            await asyncio.wait_for(client.describe_cluster(), CHECK_TIMEOUT_S)

    try:
        asyncio.run(probe())
    except Exception as exc:
        return exc
    return None


KAFKA_PROBE: Memo[Exception | None] = Memo(KAFKA_READING_TTL_S)


def _kafka() -> None:
    """The broker answers (the last probe of this process, if recent enough)."""
    failure = KAFKA_PROBE.get(_kafka_probe)
    if failure is not None:
        raise failure.with_traceback(None)


def _outbox() -> None:
    """Accepted orders reach Kafka: the oldest unpublished outbox row is younger than
    ``GATEWAY_OUTBOX_MAX_AGE_S`` (the relay or the broker is behind otherwise)."""
    state = outbox_state()
    limit = settings.GATEWAY_OUTBOX_MAX_AGE_S
    if state.oldest_age_s > limit:
        raise RuntimeError(
            f"the oldest of {state.backlog} unpublished events waited "
            f"{state.oldest_age_s:.1f} s (limit {limit:g} s): the relay or Kafka is behind"
        )


CHECKS: dict[str, Callable[[], None]] = {
    "kafka": _kafka,
    "database": _database,
    "redis": _redis,
    "outbox": _outbox,
}


@throttled("public")
def ready(request: HttpRequest) -> HttpResponse:
    """200 when every dependency answers, else 503 naming the ones that do not."""
    results: dict[str, dict[str, object]] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        result: dict[str, object] = {"status": "up"}
        try:
            check()
        except Exception as exc:  # any failure means "not ready", and says why
            result = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
        result["ms"] = round((time.perf_counter() - started) * 1000, 1)
        results[name] = result
    ok = all(r["status"] == "up" for r in results.values())
    return JsonResponse(
        {"status": "ready" if ok else "not_ready", "checks": results}, status=200 if ok else 503
    )
