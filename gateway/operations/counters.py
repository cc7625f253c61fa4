"""In-process counters of the gateway's HTTP traffic, since the process started."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

_lock = threading.Lock()
_requests: Counter[str] = Counter()
_accepted = 0


def status_class(code: int) -> str:
    """``404`` -> ``"4xx"``."""
    return f"{code // 100}xx"


def count_response(*, method: str, path: str, code: int, replayed: bool) -> None:
    global _accepted
    with _lock:
        _requests[status_class(code)] += 1
        if method == "POST" and path == "/api/orders" and code == 202 and not replayed:
            _accepted += 1


def snapshot() -> tuple[dict[str, int], int]:
    """(requests by status class, orders accepted), as counted so far."""
    with _lock:
        return dict(_requests), _accepted


class RequestCountMiddleware:
    """Counts every response by status class, and the orders accepted (202, not replays)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        count_response(
            method=request.method or "",
            path=request.path,
            code=response.status_code,
            replayed=response.headers.get("Idempotent-Replayed") == "true",
        )
        return response
