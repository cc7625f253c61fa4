"""Every API error as JSON that names the field and the problem."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

#: DRF's key for errors not tied to one field: the body as a whole.
_NON_FIELD = "non_field_errors"


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


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: our JSON problem shape for every error."""
    if isinstance(exc, Problem):
        body = problem(exc.status_code, exc.kind, str(exc.detail), exc.errors)
        return Response(body, status=exc.status_code)
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


def server_error(request: HttpRequest) -> JsonResponse:
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
    "exception_handler",
    "field_error",
    "not_found",
    "server_error",
    "status",
]
