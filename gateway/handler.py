"""The gateway's ASGI handler: Django's, with a whole request (``request_started``, the
middleware stack, the view, the response's ``close``) served in one thread hand-off to a
fixed pool of threads.

Django's own ``ASGIHandler`` runs its middleware stack in async mode, where each hook of
a middleware built on ``MiddlewareMixin`` (all of Django's: security, sessions, common,
CSRF, authentication, clickjacking) and every sync view is a separate
``sync_to_async`` call: measured, 15 thread hand-offs per ``POST /api/orders``. It also
enters a ``ThreadSensitiveContext`` per request, which makes a new one-thread executor,
so every request started (and joined) a thread of its own; and it watches for the
client's disconnect in a second task (two tasks created, one cancelled, per request),
though a sync view cannot be interrupted anyway.

The gateway's views and middlewares are all sync, so this handler loads the stack in
sync mode (as under WSGI and in the test client) and serves each request in one call
on ``GATEWAY_REQUEST_THREADS`` threads (``gateway.settings``; as many as the database
pool has connections, so a thread never waits for one): the signals, the request, the
stack and the view, and the response's ``close`` (``request_finished``, which hands the
request's database connection back to the pool) all run in that thread, then the event
loop sends the answer. Reading the body (``BodySizeLimitASGI`` counts it) and a
streaming response (none of the gateway's views streams; kept for completeness) are
Django's ``ASGIHandler``'s.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import django
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import FileResponse, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import set_script_prefix

#: What a request's thread hands back: (status, headers, body) or a streaming response.
Answer = tuple[int, list[tuple[bytes, bytes]], bytes] | HttpResponseBase


class SyncStackASGIHandler(ASGIHandler):
    """``ASGIHandler`` whose requests are served whole in one hand-off to a thread pool."""

    def __init__(self, threads: int | None = None) -> None:
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.threads = threads or settings.GATEWAY_REQUEST_THREADS
        self.executor = ThreadPoolExecutor(self.threads, thread_name_prefix="gateway-request")
        self._serve = sync_to_async(self.serve, thread_sensitive=False, executor=self.executor)
        self._close = sync_to_async(_close, thread_sensitive=False, executor=self.executor)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        answer = await self._serve(scope, body_file)
        if isinstance(answer, HttpResponseBase):
            try:
                await self.send_response(answer, send)
            finally:
                await self._close(answer)
            return
        status, headers, content = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def serve(self, scope: dict[str, Any], body_file: Any) -> Answer:
        """One request, in a thread of the pool: what ``ASGIHandler.handle`` does around
        the stack, in the same order, without leaving the thread."""
        try:
            set_script_prefix(get_script_prefix(scope))
            signals.request_started.send(sender=self.__class__, scope=scope)
            request, error_response = self.create_request(scope, body_file)
            response = error_response if request is None else self.get_response(request)
            assert response is not None
            response._handler_class = self.__class__  # type: ignore[attr-defined]  # as Django
            if response.streaming:
                if isinstance(response, FileResponse):
                    response.block_size = self.chunk_size
                return response  # closed once sent
            try:
                content = cast(HttpResponse, response).content
                return response.status_code, _headers(response), content
            finally:
                response.close()  # request_finished: the connection goes back to the pool
        finally:
            body_file.close()


def _headers(response: HttpResponseBase) -> list[tuple[bytes, bytes]]:
    """The response's headers and cookies as ``ASGIHandler.send_response`` encodes them."""
    headers = [
        (
            header.encode("ascii") if isinstance(header, str) else bytes(header),
            value.encode("latin1") if isinstance(value, str) else bytes(value),
        )
        for header, value in response.items()
    ]
    headers.extend(
        (b"Set-Cookie", c.output(header="").encode("ascii").strip())
        for c in response.cookies.values()
    )
    return headers


def _close(response: HttpResponseBase) -> None:
    response.close()


def get_asgi_application() -> SyncStackASGIHandler:
    """Django's ``get_asgi_application`` with `SyncStackASGIHandler`."""
    django.setup(set_prefix=False)
    return SyncStackASGIHandler()
