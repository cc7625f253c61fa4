"""Refuse oversized request bodies with 413 before anything reads them."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from gateway.errors import json_error


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
