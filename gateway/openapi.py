"""The OpenAPI schema (``/api/schema``) documents every error an operation can answer.

A drf-spectacular postprocessing hook: each view states its own answers
(``@extend_schema(responses=...)``); what every view of a kind can also answer is added
here, once, in the problem shape of ``gateway.errors`` (``Problem``):

- 400: a malformed or invalid request (the JSON parser, query and path validation);
- 401, 403: the staff API (``/api/ops/``) without, or with a non-staff, user; a refused
  cross-site request;
- 404: an operation with path parameters (no such record, or an invalid id);
- 406: an ``Accept`` header the API cannot satisfy (only JSON is rendered);
- 413, 415: a body too large, or not JSON, where the operation takes a body;
- 429: a request rate exceeded (``gateway.throttles``);
- 503: the database or Redis does not answer (a restart, an outage), with
  ``Retry-After`` (``gateway.errors.dependency_unavailable``); never a 500.

A fuzzer over the schema (``gateway/tests/test_api_fuzz.py``) checks that no operation
answers anything it does not document.
"""

from __future__ import annotations

from typing import Any

PROBLEM = "Problem"

_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An error: a machine-readable type, a sentence, one entry per field.",
    "properties": {
        "status": {"type": "integer"},
        "type": {"type": "string"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
                "required": ["field", "code", "message"],
            },
        },
    },
    "required": ["status", "type", "detail", "errors"],
}

_WHY = {
    "400": "The request is malformed or invalid.",
    "401": "No valid staff credentials.",
    "403": "Not a staff user, or a cross-site request.",
    "404": "No such record, or an invalid id.",
    "406": "Only JSON can be rendered.",
    "413": "The body is too large.",
    "415": "The body is not JSON.",
    "429": "Too many requests.",
    "503": "The database or Redis is unavailable: retry after ``Retry-After`` seconds.",
}


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: Any) -> Any:
    """Add the ``Problem`` component and each operation's common error answers."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components[PROBLEM] = _PROBLEM_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for code in _errors_of(path, method, operation):
                responses.setdefault(code, _problem(_WHY[code]))
    return result


def _errors_of(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    codes = ["400", "406", "429", "503"]
    if path.startswith("/api/ops/"):
        codes += ["401", "403"]
    if "{" in path:
        codes.append("404")
    if "requestBody" in operation or method.lower() in ("post", "put", "patch"):
        codes += ["413", "415"]
    return codes


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{PROBLEM}"}}},
    }
