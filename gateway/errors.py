"""Every API error as JSON that names the field and the problem."""

from __future__ import annotations

import logging
import sys
from typing import Any

import psycopg
import redis
from django import db
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

log = logging.getLogger("gateway.errors")

#: DRF's key for errors not tied to one field: the body as a whole.
_NON_FIELD = "non_field_errors"

#: ``Retry-After`` (seconds) of a 503 for a database or Redis that does not answer.
RETRY_AFTER_SECONDS = 2

#: What a dependency's unavailability raises: the connection failed, was lost, or no
#: pooled connection came in time (``psycopg_pool.PoolTimeout`` is a psycopg
#: ``OperationalError``; Django wraps psycopg's in its own ``db`` classes). Redis's
#: ``BusyLoadingError`` (a restarted server loading its data) is a ``ConnectionError``.
_UNAVAILABLE: tuple[tuple[str, tuple[type[BaseException], ...]], ...] = (
    (
        "database",
        (db.OperationalError, db.InterfaceError, psycopg.OperationalError, psycopg.InterfaceError),
    ),
    ("redis", (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)),
)


def problem(
    status_code: int, kind: str, detail: str, errors: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """The error body: a machine-readable ``type``, a sentence, and one entry per field."""
    return {"status": status_code, "type": kind, "detail": detail, "errors": errors or []}


class Problem(exceptions.APIException):
    """A refusal answered as a problem body: its status, ``type``, sentence and per-field
    entries. Raise it with all four, or subclass it with ``status_code`` and ``kind`` as
    class attributes and pass the sentence and the one ``field`` it is about (e.g. orders'
    ``IdempotencyConflict``), so the handler here knows none of the apps."""

    status_code = 400
    kind = "bad_request"

    def __init__(
        self,
        status_code: int | str,
        kind: str | None = None,
        detail: str | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        if isinstance(status_code, str):  # subclass form: (message, field)
            message, field = status_code, kind or "body"
            super().__init__(message)
            self.errors = [_entry(field, message)]
            return
        super().__init__(detail)
        self.status_code = status_code
        self.kind = kind or self.kind
        self.errors = errors or []


def field_error(field: str, code: str, message: str) -> dict[str, str]:
    """One entry of ``errors``."""
    return {"field": field, "code": code, "message": message}


def flatten(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """Turn DRF's nested error detail into ``[{field, code, message}]`` with dotted paths.

    ``{"items": {0: {"quantity": [...]}}}`` becomes ``items[0].quantity``.
    """
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            if isinstance(key, int):
                path = f"{prefix}[{key}]"
            elif key == _NON_FIELD:
                path = prefix or "body"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.extend(flatten(value, path))
        return out
    if isinstance(detail, list):
        if all(isinstance(x, str) for x in detail):
            return [_entry(prefix, x) for x in detail]
        out = []
        for index, value in enumerate(detail):
            if value:
                out.extend(flatten(value, f"{prefix}[{index}]"))
        return out
    return [_entry(prefix, detail)]


def _entry(field: str, message: Any) -> dict[str, str]:
    code = getattr(message, "code", "invalid")
    return {"field": field or "body", "code": str(code), "message": str(message)}


_KINDS = {
    exceptions.ParseError: ("parse_error", "body"),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", "Content-Type"),
    exceptions.MethodNotAllowed: ("method_not_allowed", "method"),
    exceptions.NotAcceptable: ("not_acceptable", "Accept"),
    exceptions.NotFound: ("not_found", "path"),
    exceptions.NotAuthenticated: ("not_authenticated", "Authorization"),
    exceptions.AuthenticationFailed: ("authentication_failed", "Authorization"),
    exceptions.PermissionDenied: ("permission_denied", "user"),
    exceptions.Throttled: ("throttled", "rate"),
}


def unavailable_dependency(exc: BaseException | None) -> str | None:
    """``"database"`` or ``"redis"`` when ``exc`` (or what it was raised from) says that
    dependency does not answer; None for any other error."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        for name, kinds in _UNAVAILABLE:
            if isinstance(exc, kinds):
                return name
        exc = exc.__cause__ or exc.__context__
    return None


def unavailable_body(dependency: str, exc: BaseException) -> dict[str, Any]:
    """The 503 problem body for ``dependency`` (``unavailable_dependency``'s answer)."""
    what = f"The database ({db.connection.display_name})" if dependency == "database" else "Redis"
    detail = (
        f"{what} is unavailable ({type(exc).__name__}); retry in {RETRY_AFTER_SECONDS} s."
        " An order retried with the same Idempotency-Key or orderId is placed once."
    )
    kind = f"{dependency}_unavailable"
    return problem(503, kind, detail, [field_error(dependency, "unavailable", detail)])


def log_unavailable(request: HttpRequest, dependency: str, exc: BaseException) -> None:
    """One line per refused request (no traceback: the cause is known and passing)."""
    log.warning(
        "%s unavailable: 503 for %s %s (%s: %s)",
        dependency,
        request.method,
        request.path,
        type(exc).__name__,
        " ".join(str(exc).split())[:200],
    )


def dependency_unavailable(request: HttpRequest, exc: BaseException | None) -> HttpResponse | None:
    """The JSON 503 (with ``Retry-After``) when ``exc`` means the database or Redis does
    not answer, logged in one line; None for any other error."""
    dependency = unavailable_dependency(exc)
    if dependency is None or exc is None:
        return None
    log_unavailable(request, dependency, exc)
    response = JsonResponse(unavailable_body(dependency, exc), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response._has_been_logged = True  # type: ignore[attr-defined]  # not again by Django
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: our JSON problem shape for every error; a database or Redis
    that does not answer is a 503 with ``Retry-After`` (never a 500)."""
    if (dependency := unavailable_dependency(exc)) is not None:
        request = context.get("request")
        if request is not None:
            log_unavailable(request, dependency, exc)
        refused = Response(
            unavailable_body(dependency, exc),
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
        refused._has_been_logged = True  # type: ignore[attr-defined]  # not again by Django
        return refused
    if isinstance(exc, Problem):
        body = problem(exc.status_code, exc.kind, str(exc.detail), exc.errors)
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if exc.status_code == 503 else None
        return Response(body, status=exc.status_code, headers=headers)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = problem(
            response.status_code, "validation_error", "The request is invalid.", flatten(exc.detail)
        )
        return response
    kind, field = next(
        ((k, f) for cls, (k, f) in _KINDS.items() if isinstance(exc, cls)), ("error", "body")
    )
    detail = str(getattr(exc, "detail", exc))
    if isinstance(exc, exceptions.ParseError):
        detail = f"Malformed JSON body: {detail}"
    response.data = problem(response.status_code, kind, detail, [_entry(field, detail)])
    return response


def json_error(
    request: HttpRequest, status_code: int, kind: str, detail: str, field: str
) -> JsonResponse:
    return JsonResponse(
        problem(status_code, kind, detail, [_entry(field, detail)]), status=status_code
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Unknown routes: 404 as JSON."""
    return json_error(request, 404, "not_found", f"No route for {request.path}.", "path")


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: an error no view handled (one raised in a middleware, say). A
    database or Redis that does not answer is still a 503, not a 500."""
    unavailable = dependency_unavailable(request, sys.exc_info()[1])
    if unavailable is not None:
        return unavailable
    return json_error(request, 500, "server_error", "Internal server error.", "body")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(request, 400, "bad_request", "Bad request.", "body")


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """``CSRF_FAILURE_VIEW``: a refused unsafe request without its CSRF token, as JSON."""
    return json_error(
        request, 403, "csrf_failed", f"CSRF verification failed: {reason}", "X-CSRFToken"
    )


__all__ = [
    "Problem",
    "bad_request",
    "csrf_failure",
    "dependency_unavailable",
    "exception_handler",
    "field_error",
    "not_found",
    "server_error",
    "status",
]
