"""Refuse oversized request bodies with 413 before anything reads them; answer 503, not
500, when a plain Django view finds the database or Redis unavailable."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from gateway.errors import dependency_unavailable, field_error, json_error, problem


class DependencyUnavailableMiddleware:
    """A view that is not DRF's (the login page, the dashboard's, ``/metrics``) and
    raises because PostgreSQL or Redis does not answer gets the JSON 503 with
    ``Retry-After`` of `gateway.errors.dependency_unavailable`; DRF views get it from
    the exception handler, errors raised in a middleware from ``handler500``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return dependency_unavailable(request, exception)


class BodySizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.limit = settings.MAX_REQUEST_BODY_BYTES

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            size = int(length)
        except ValueError:
            return json_error(
                request, 400, "bad_request", "Invalid Content-Length.", "Content-Length"
            )
        if size > self.limit:
            return json_error(
                request,
                413,
                "payload_too_large",
                f"Request body of {size} bytes exceeds the limit of {self.limit} bytes.",
                "body",
            )
        return self.get_response(request)


class BodySizeLimitASGI:
    """The same limit at the ASGI layer, before the body is received.

    Django's ASGI handler reads (and spools) the whole body before any Django
    middleware runs, so ``BodySizeLimitMiddleware`` alone still received bodies of any
    size. This wraps the HTTP application: a declared ``Content-Length`` above the limit
    (or an invalid one) is answered at once, without reading a byte; a body without one
    (chunked) is counted as it arrives and cut off at the limit.
    """

    def __init__(self, app: Any, limit: int | None = None) -> None:
        self.app = app
        self.limit = settings.MAX_REQUEST_BODY_BYTES if limit is None else limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = [v for k, v in scope.get("headers", []) if k.lower() == b"content-length"]
        if declared:
            raw = declared[0]
            if len(declared) > 1 or not raw.isdigit() or len(raw) > 18:
                await _answer(send, 400, "bad_request", "Invalid Content-Length.", "Content-Length")
                return
            if int(raw) > self.limit:
                await _answer(send, 413, *_too_large(int(raw), self.limit))
                return
        received = 0
        cut_off = False
        started = False

        async def counted_receive() -> dict[str, Any]:
            nonlocal received, cut_off
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    cut_off = True
                    return {"type": "http.disconnect"}
            return message

        async def watched_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted_receive, watched_send)
        if cut_off and not started:
            await _answer(send, 413, *_too_large(received, self.limit))


def _too_large(size: int, limit: int) -> tuple[str, str, str]:
    return (
        "payload_too_large",
        f"Request body of {size} bytes or more exceeds the limit of {limit} bytes.",
        "body",
    )


async def _answer(send: Any, status: int, kind: str, detail: str, field: str) -> None:
    body = json.dumps(problem(status, kind, detail, [field_error(field, kind, detail)])).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
