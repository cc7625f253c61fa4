"""The gateway's ASGI handler (`gateway.handler`): requests through the ASGI application
as daphne makes them, answered as under WSGI, each served whole in one thread hand-off."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref import sync
from django.core import signals
from django.db import connection

from gateway.handler import SyncStackASGIHandler
from gateway.orders.models import Order
from gateway.outbox.models import OutboxMessage

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("catalogue")]


@pytest.fixture(autouse=True)
def _close_the_pool() -> Iterator[None]:
    """The requests' connections went back to PostgreSQL's pool, which keeps them open:
    closed here, else the test database cannot be dropped at the end."""
    yield
    if connection.vendor == "postgresql":
        connection.close_pool()


ORDER = {"orderId": "asgi-1", "userId": "user-1", "items": [{"productId": "p1", "quantity": 2}]}


async def call(
    app: Any, method: str, path: str, body: bytes = b"", **headers: str
) -> tuple[int, dict[str, str], Any]:
    """One request through ``app``: status, headers, JSON body."""
    raw_headers = [(b"host", b"127.0.0.1"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.lower().replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    answer: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client stays: Django cancels this when done
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
        else:
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer["status"], answer["headers"], json.loads(answer["body"] or b"null")


async def test_an_order_is_accepted_in_one_hand_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hand_offs = 0
    original = sync.SyncToAsync.__call__

    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal hand_offs
        hand_offs += 1
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(sync.SyncToAsync, "__call__", counted)
    app = SyncStackASGIHandler()

    status, headers, body = await call(
        app, "POST", "/api/orders", json.dumps(ORDER).encode(), content_type="application/json"
    )

    assert status == 202, body
    assert headers["Location"] == "/api/orders/asgi-1"
    assert body["status"] == "PENDING"
    # request_started, the stack with the view and the response's close, in one thread
    # (Django's own handler: 15 for this request).
    assert hand_offs == 1
    assert await sync.sync_to_async(stored)() == (1, 1)


def stored() -> tuple[int, int]:
    """(order rows, outbox rows); the connection goes back to the pool."""
    try:
        return Order.objects.filter(order_id="asgi-1").count(), OutboxMessage.objects.count()
    finally:
        connection.close()


async def test_errors_keep_their_json_shape_through_the_handler() -> None:
    app = SyncStackASGIHandler()

    status, _, body = await call(app, "GET", "/no/such/route")
    assert (status, body["type"], body["errors"][0]["field"]) == (404, "not_found", "path")

    status, _, body = await call(
        app, "POST", "/api/orders", b"{not json", content_type="application/json"
    )
    assert (status, body["type"], body["errors"][0]["field"]) == (400, "parse_error", "body")

    bad = {**ORDER, "items": [{"productId": "p1", "quantity": "2"}]}
    status, _, body = await call(
        app, "POST", "/api/orders", json.dumps(bad).encode(), content_type="application/json"
    )
    assert (status, body["errors"][0]["field"]) == (400, "items[0].quantity")


async def test_requests_are_served_whole_by_the_pools_threads() -> None:
    """No thread per request: every request runs in one of the pool's threads, and its
    ``request_finished`` (which hands the database connection back to the pool) in the
    thread that served it."""
    app = SyncStackASGIHandler(threads=2)
    seen: list[tuple[str, str]] = []

    def started(**kwargs: Any) -> None:
        seen.append(("started", threading.current_thread().name))

    def finished(**kwargs: Any) -> None:
        seen.append(("finished", threading.current_thread().name))

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        answers = await asyncio.gather(*(call(app, "GET", "/health") for _ in range(6)))
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)

    assert [status for status, _, _ in answers] == [200] * 6
    threads = {name for _, name in seen}
    assert len(threads) <= 2
    assert all(name.startswith("gateway-request") for name in threads)
    for name in threads:
        events = [event for event, thread in seen if thread == name]
        assert events == ["started", "finished"] * (len(events) // 2)


def test_the_asgi_module_freezes_what_it_loaded() -> None:
    """What the process loads stays out of the collector's generations (`gateway.asgi`)."""
    import gateway.asgi

    assert gateway.asgi.application is not None
    assert gc.get_freeze_count() > 0


async def test_cookies_and_repeated_headers_reach_the_client_as_django_sends_them() -> None:
    """The login page's CSRF cookie comes as its own ``Set-Cookie`` header, encoded as
    Django's ``ASGIHandler.send_response`` encodes it."""
    app = SyncStackASGIHandler()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/login",
        "raw_path": b"/login",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)

    start, body = sent
    assert start["status"] == 200
    cookies = [v for k, v in start["headers"] if k == b"Set-Cookie"]
    assert len(cookies) == 1 and cookies[0].startswith(b"csrftoken=")
    assert b"SameSite=Lax" in cookies[0]
    names = [k for k, _ in start["headers"]]
    assert b"X-Frame-Options" in names and b"X-Content-Type-Options" in names
    assert b"<form" in body["body"]
