"""A database or Redis that does not answer is a JSON 503 with ``Retry-After``, never a
500: DRF views (the exception handler), plain Django views (the middleware) and errors
raised outside any view (``handler500``). Any other error stays a 500. The pool's check
drains the pool when a connection fails it (`gateway.pgpool`)."""

from __future__ import annotations

import json
import logging
from typing import Any

import psycopg
import pytest
import redis
from django import db
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import path

from gateway import errors
from gateway.errors import RETRY_AFTER_SECONDS, server_error, unavailable_dependency
from gateway.pgpool.base import draining_check

ORDER = {
    "orderId": "ord-unavailable-1",
    "userId": "user-1",
    "currency": "USD",
    "items": [{"productId": "prod-001", "quantity": 1}],
}


def wrapped(inner: BaseException, outer: BaseException) -> BaseException:
    """``outer`` raised from ``inner``, as Django wraps psycopg's errors."""
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as exc:
        return exc


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (db.OperationalError("connection to server at 127.0.0.1 failed"), "database"),
        (db.InterfaceError("connection already closed"), "database"),
        (psycopg.OperationalError("terminating connection: administrator command"), "database"),
        (wrapped(psycopg.OperationalError("server closed"), db.OperationalError("x")), "database"),
        (redis.exceptions.ConnectionError("Connection refused"), "redis"),
        (redis.exceptions.TimeoutError("Timeout reading from socket"), "redis"),
        (redis.exceptions.BusyLoadingError("Redis is loading the dataset"), "redis"),
        (wrapped(redis.exceptions.ConnectionError("x"), RuntimeError("in the cache")), "redis"),
        (db.IntegrityError("duplicate key"), None),
        (db.DataError("numeric field overflow"), None),
        (redis.exceptions.ResponseError("WRONGTYPE"), None),
        (ValueError("a bug"), None),
    ],
)
def test_which_errors_mean_a_dependency_is_unavailable(
    exc: BaseException, expected: str | None
) -> None:
    assert unavailable_dependency(exc) == expected


def post_order(client: Client) -> Any:
    return client.post(
        "/api/orders",
        json.dumps(ORDER),
        content_type="application/json",
        headers={"Idempotency-Key": "k-unavailable-1"},
    )


def raising(exc: BaseException) -> Any:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise exc

    return fail


@pytest.mark.django_db
@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (wrapped(psycopg.OperationalError("closed"), db.OperationalError("gone")), "database"),
        (db.InterfaceError("connection already closed"), "database"),
        (redis.exceptions.ConnectionError("Connection refused"), "redis"),
    ],
)
def test_an_order_post_that_meets_an_unavailable_dependency_is_a_json_503_logged_once(
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    exc: BaseException,
    kind: str,
) -> None:
    monkeypatch.setattr("gateway.orders.apis.order_create", raising(exc))
    with caplog.at_level(logging.INFO):
        response = post_order(client)

    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == 503 and body["type"] == f"{kind}_unavailable"
    assert type(exc).__name__ in body["detail"] and "Idempotency-Key" in body["detail"]
    assert [(e["field"], e["code"]) for e in body["errors"]] == [(kind, "unavailable")]
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert lines[0].name == "gateway.errors" and "503 for POST /api/orders" in lines[0].getMessage()
    assert lines[0].exc_info is None


@pytest.mark.django_db
@pytest.mark.usefixtures("catalogue")
def test_any_other_error_is_still_a_500(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gateway.orders.apis.order_create", raising(ValueError("a bug")))
    client.raise_request_exception = False

    response = post_order(client)

    assert response.status_code == 500
    assert response.json()["type"] == "server_error"
    assert "Retry-After" not in response


def plain_view(request: HttpRequest) -> HttpResponse:
    raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")


urlpatterns = [path("plain", plain_view)]


@pytest.mark.urls(__name__)
def test_a_plain_django_view_gets_the_503_from_the_middleware(client: Client) -> None:
    response = client.get("/plain")

    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.json()["type"] == "redis_unavailable"


def test_an_error_outside_any_view_gets_the_503_from_handler500() -> None:
    request = RequestFactory().get("/somewhere")
    try:
        raise wrapped(psycopg.OperationalError("the pool timed out"), db.OperationalError("x"))
    except db.OperationalError:
        response = server_error(request)

    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert json.loads(response.content)["type"] == "database_unavailable"


def test_handler500_without_a_dependency_error_is_a_500() -> None:
    request = RequestFactory().get("/somewhere")
    try:
        raise KeyError("a bug")
    except KeyError:
        response = server_error(request)

    assert response.status_code == 500


def test_a_503_problem_raised_by_a_view_carries_retry_after() -> None:
    problem = errors.Problem(503, "redis_unavailable", "Redis is unavailable.")

    response = errors.exception_handler(problem, {})

    assert response is not None and response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)


class FakePool:
    def __init__(self) -> None:
        self.drained = 0

    def drain(self) -> None:
        self.drained += 1


class DeadConnection:
    """What a pooled connection is after the server restarted: any statement fails."""

    autocommit = True

    def execute(self, query: str) -> None:
        raise psycopg.OperationalError("server closed the connection unexpectedly")


class LiveConnection:
    autocommit = True

    def execute(self, query: str) -> None:
        return None


def test_a_failed_pool_check_drains_the_pool_and_still_fails() -> None:
    pool = FakePool()
    check = draining_check({"pool": pool})  # type: ignore[dict-item]

    check(LiveConnection())
    assert pool.drained == 0
    with pytest.raises(psycopg.OperationalError):
        check(DeadConnection())
    assert pool.drained == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("catalogue")
def test_throttle_counters_in_a_redis_that_refuses_connections_give_a_503(
    client: Client, settings: Any
) -> None:
    """``GATEWAY_CACHE_URL`` on a Redis that is down: the throttle's cache raises, the
    request is a 503 ``redis_unavailable`` (a real refused connection, port 1)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }

    response = post_order(client)

    assert response.status_code == 503
    assert response.json()["type"] == "redis_unavailable"
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
