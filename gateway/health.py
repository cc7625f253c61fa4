"""The index (`/`), liveness (`/health`) and readiness (`/ready`: Kafka, database, Redis).

`/` and `/ready` are anonymous and touch the outbox or the broker: each client IP has the
``public`` request rate, the broker probe is one shared reading per process reused for
``KAFKA_READING_TTL_S``, and `/` records at most the ``page_views`` rate of page views per
client IP (``gateway.operations.throttles``). `/health` is free: it touches nothing."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import redis
from aiokafka.admin import AIOKafkaAdminClient
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse

from gateway.analytics.services import page_view_record
from gateway.operations.memo import KAFKA_READING_TTL_S, Memo
from gateway.operations.throttles import page_view_due, throttled

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 2.0


@throttled("public")
def index(request: HttpRequest) -> HttpResponse:
    """`/`: a browser (it accepts HTML) goes to the live dashboard; anything else gets
    where things are, as JSON. Each JSON load is a page view for analytics
    (``PageViewed`` through the outbox; the dashboard's pages record their own), up to the
    ``page_views`` rate per client IP; failing to record one is logged and never fails
    the page."""
    if "text/html" in request.headers.get("Accept", ""):
        return HttpResponseRedirect("/dashboard/")
    try:
        if page_view_due(request):
            page_view_record(page=request.path)
    except Exception:
        log.exception("index: the page view of %s was not recorded", request.path)
    return JsonResponse(
        {
            "name": "choreography-saga order platform",
            "links": {
                "orders": "/api/orders",
                "products": "/api/products",
                "topProducts": "/api/analytics/top-products",
                "pageviews": "/api/analytics/pageviews",
                "dashboard": "/dashboard/",
                "docs": "/api/docs",
                "schema": "/api/schema",
                "health": "/health",
                "ready": "/ready",
            },
        }
    )


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
        admin = AIOKafkaAdminClient(
            bootstrap_servers=settings.PLATFORM.bootstrap_list,
            request_timeout_ms=int(CHECK_TIMEOUT_S * 1000),
        )
        await asyncio.wait_for(admin.start(), CHECK_TIMEOUT_S)
        try:
            await asyncio.wait_for(admin.describe_cluster(), CHECK_TIMEOUT_S)
        finally:
            await admin.close()

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


CHECKS: dict[str, Callable[[], None]] = {"kafka": _kafka, "database": _database, "redis": _redis}


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
