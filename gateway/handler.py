"""The gateway's ASGI handler: Django's, with the middleware stack and the view run in one
thread hand-off per request.

Django's own ``ASGIHandler`` runs its middleware stack in async mode, where each hook of
a middleware built on ``MiddlewareMixin`` (all of Django's: security, sessions, common,
CSRF, authentication, clickjacking) and every sync view is a separate
``sync_to_async`` call: measured, 15 thread hand-offs per ``POST /api/orders``. The
gateway's views and middlewares are all sync, so this handler loads the stack in sync
mode (as under WSGI and in the test client) and calls it once per request in the
request's thread (``thread_sensitive``); what remains is Django's ``request_started``
and the response's ``close`` (3 hand-offs per request). Everything else (reading the
body, the disconnect watch, sending the response, the signals) is Django's
``ASGIHandler``.
"""

from __future__ import annotations

from typing import Any

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.http import FileResponse, HttpRequest


class SyncStackASGIHandler(ASGIHandler):
    """``ASGIHandler`` whose middleware stack and views run sync, in one hand-off."""

    def __init__(self) -> None:
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    async def run_get_response(self, request: HttpRequest) -> Any:
        response = await sync_to_async(self.get_response, thread_sensitive=True)(request)
        response._handler_class = self.__class__  # type: ignore[attr-defined]  # as Django
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        return response


def get_asgi_application() -> SyncStackASGIHandler:
    """Django's ``get_asgi_application`` with `SyncStackASGIHandler`."""
    django.setup(set_prefix=False)
    return SyncStackASGIHandler()
