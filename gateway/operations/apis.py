"""Staff-only HTTP API of operations: the DLQ (list, show, redrive, discard) and faults.

Authentication: HTTP basic (curl, scripts) or the Django session (browsers; unsafe
methods then need the CSRF token). Every endpoint needs a staff user. Unsafe requests
from another site are refused, and browsers cannot use Basic for them
(``gateway.operations.auth``); each user has the ``staff`` request rate.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import replace
from typing import Any

import msgspec
import redis
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ErrorDetail, NotFound, ValidationError
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contracts.failures import FaultSettings, decode_faults
from gateway.errors import Problem, field_error, problem
from gateway.operations import bootstrap, presenters
from gateway.operations.auth import StaffBasicAuthentication, refuse_cross_site
from gateway.operations.domain import FAULT_SERVICES
from gateway.operations.faults import faults_get_all, faults_set
from gateway.operations.models import DeadLetterRecord, DeadLetterStatus
from gateway.operations.selectors import DlqFilter, dead_letter_get, dead_letter_list
from gateway.operations.services import (
    ActionResult,
    AlreadyResolved,
    RedriveRefused,
    dead_letter_discard,
    dead_letter_redrive,
    dead_letters_discard,
    dead_letters_redrive,
)
from gateway.pagination import StrictLimitOffsetPagination
from gateway.throttles import StaffThrottle


class StaffApi(APIView):
    # Basic first: an anonymous request gets 401 with a WWW-Authenticate challenge.
    authentication_classes = [StaffBasicAuthentication, SessionAuthentication]
    permission_classes = [IsAdminUser]
    throttle_classes = [StaffThrottle]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before authentication: a cross-site request costs no password hash.
        refuse_cross_site(request)
        super().initial(request, *args, **kwargs)


class FilterInput(serializers.Serializer[Any]):
    topic = serializers.CharField(required=False, max_length=128)
    errorType = serializers.CharField(required=False, max_length=200)
    group = serializers.CharField(required=False, max_length=128)
    status = serializers.ChoiceField(choices=DeadLetterStatus.values, required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since and until and since >= until:
            raise ValidationError({"until": ["Must be later than since."]})
        return attrs


FILTER_NAMES = ("topic", "errorType", "group", "status", "since", "until")
FILTER_PARAMETERS = [
    OpenApiParameter("topic", str, description="original topic, e.g. orders.v1"),
    OpenApiParameter(
        "errorType", str, description="error type, e.g. contracts.codec.ContractError"
    ),
    OpenApiParameter("group", str, description="consumer group that failed, e.g. payment"),
    OpenApiParameter("status", str, enum=DeadLetterStatus.values),
    OpenApiParameter("since", str, description="failed at or after (ISO 8601)"),
    OpenApiParameter("until", str, description="failed before (ISO 8601)"),
]


def _filters(data: Any) -> DlqFilter:
    given = FilterInput(data=data)
    given.is_valid(raise_exception=True)
    v = given.validated_data
    return DlqFilter(
        topic=v.get("topic"),
        error_type=v.get("errorType"),
        group=v.get("group"),
        status=v.get("status"),
        since=v.get("since"),
        until=v.get("until"),
    )


#: A row id: ASCII digits within PostgreSQL's bigint ("²" is a digit to ``str.isdigit``).
_ROW_ID = re.compile(r"[0-9]{1,18}")
_REF_HELP = "a dead letter's row id (digits) or event id (a UUID)"


def _valid_ref(ref: str) -> bool:
    if _ROW_ID.fullmatch(ref):
        return True
    if len(ref) > 36:
        return False
    try:
        uuid.UUID(ref)
    except ValueError:
        return False
    return True


def _record(ref: str) -> DeadLetterRecord:
    if not _valid_ref(ref):
        # Checked before the database sees it: "²" and 5,000-digit ids were 500s.
        message = f"Must be {_REF_HELP}."
        raise Problem(
            404,
            "not_found",
            f"No dead letter with id {ref[:64]!r}: {message}",
            [field_error("id", "invalid", message)],
        )
    record = dead_letter_get(ref=ref)
    if record is None:
        raise NotFound(f"No dead letter with id {ref!r}.")
    return record


def _actor(request: Request) -> str:
    return str(request.user.get_username())


def _conflict(exc: AlreadyResolved) -> Response:
    record = exc.record
    body = problem(
        409,
        "already_resolved",
        str(exc),
        [{"field": "id", "code": record.status, "message": str(exc)}],
    )
    body["record"] = presenters.dead_letter_summary(record)
    return Response(body, status=409)


def _refused(refused: list[tuple[DeadLetterRecord, str]]) -> Response:
    """422: no record was redriven, their original topics are no redrive targets."""
    errors = [
        {"field": f"records[{r.pk}].originalTopic", "code": "not_redrivable", "message": reason}
        for r, reason in refused
    ]
    detail = (
        f"{len(refused)} dead letter(s) name an original topic a redrive may not write to; "
        "they stay pending."
    )
    body = problem(422, "not_redrivable", detail, errors)
    if len(refused) == 1:
        body["record"] = presenters.dead_letter_summary(refused[0][0])
    return Response(body, status=422)


def _unsent(outcome: ActionResult) -> Response:
    errors = [
        {"field": f"records[{r.pk}]", "code": "not_sent", "message": error}
        for r, error in outcome.failed
    ]
    body = problem(503, "kafka_unavailable", "The broker did not acknowledge the redrive.", errors)
    return Response(body, status=503)


def _bulk_body(request: Request) -> tuple[DlqFilter, dict[str, Any]]:
    """The filters of a bulk action, from its JSON object body (never the query string:
    an empty cross-site form post must not act on anything).

    Acting on every pending record needs ``"all": true``: an empty filter is refused.
    """
    if request.query_params:
        name = sorted(request.query_params)[0][:64]
        message = "Bulk actions read their filters from the JSON body, not the query string."
        raise ValidationError({name: [ErrorDetail(message, code="query_string")]})
    data = request.data  # a body that is not JSON: 415 (or 400 when malformed)
    if "json" not in (request.content_type or ""):  # no body at all, e.g. an empty form
        message = 'A JSON object body is required: the filters, or {"all": true}.'
        raise ValidationError({"body": [ErrorDetail(message, code="required")]})
    if not isinstance(data, dict):
        raise ValidationError({"body": ["Must be a JSON object of filters."]})
    known = (*FILTER_NAMES, "all")
    unknown = sorted(k for k in data if k not in known)
    if unknown:
        message = f"Unknown field; known: {', '.join(known)}."
        raise ValidationError({k[:64]: [ErrorDetail(message, code="unknown")] for k in unknown})
    everything = str(data.get("all", "")).lower() in ("true", "1")
    filters = _filters(data)
    if filters.status not in (None, DeadLetterStatus.PENDING):
        raise ValidationError(
            {"status": ["Only pending dead letters can be redriven or discarded."]}
        )
    chosen = {k: data.get(k) for k in FILTER_NAMES if data.get(k) not in (None, "")}
    if not chosen and not everything:
        raise ValidationError(
            {
                "filters": [
                    'Give at least one filter, or "all": true to act on every pending record.'
                ]
            }
        )
    detail = {"filters": {k: str(v) for k, v in chosen.items()}, "all": everything}
    return replace(filters, status=DeadLetterStatus.PENDING), detail


def _bulk_answer(action: str, outcome: ActionResult) -> Response:
    return Response(
        {
            "action": action,
            action: len(outcome.done),
            "ids": [r.pk for r in outcome.done],
            "failed": [{"id": r.pk, "error": e} for r, e in outcome.failed],
            "refused": [{"id": r.pk, "reason": why} for r, why in outcome.refused],
            "audit": [e.pk for e in outcome.audit],
        }
    )


class DlqListApi(StaffApi):
    """`GET /api/ops/dlq`: dead letters, newest failure first, filtered and paged."""

    Pagination = StrictLimitOffsetPagination

    @extend_schema(
        operation_id="dlq_list",
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("limit", int),
            OpenApiParameter("offset", int),
        ],
        responses={200: dict, 400: dict, 401: dict, 403: dict},
    )
    def get(self, request: Request) -> Response:
        rows = dead_letter_list(filters=_filters(request.query_params))
        paginator = self.Pagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(
            [presenters.dead_letter_summary(r) for r in page or []]
        )


class DlqDetailApi(StaffApi):
    """`GET /api/ops/dlq/{id}`: one dead letter with its original bytes and history."""

    @extend_schema(operation_id="dlq_get", responses={200: dict, 404: dict})
    def get(self, request: Request, ref: str) -> Response:
        return Response(presenters.dead_letter_detail(_record(ref)))


class DlqRedriveOneApi(StaffApi):
    """`POST /api/ops/dlq/{id}/redrive`: send it back to its original topic (409 if it
    was already redriven or discarded, 422 if that topic is no redrive target)."""

    @extend_schema(
        operation_id="dlq_redrive_one",
        request=None,
        responses={200: dict, 409: dict, 422: dict, 503: dict},
    )
    def post(self, request: Request, ref: str) -> Response:
        record = _record(ref)
        try:
            outcome = dead_letter_redrive(
                record_id=record.pk, actor=_actor(request), publisher=bootstrap.publisher()
            )
        except AlreadyResolved as exc:
            return _conflict(exc)
        except RedriveRefused as exc:
            return _refused([(exc.record, exc.reason)])
        if outcome.failed:
            return _unsent(outcome)
        record.refresh_from_db()
        return Response(presenters.dead_letter_summary(record))


class DlqDiscardOneApi(StaffApi):
    """`POST /api/ops/dlq/{id}/discard`: mark it handled without sending it."""

    @extend_schema(operation_id="dlq_discard_one", request=None, responses={200: dict, 409: dict})
    def post(self, request: Request, ref: str) -> Response:
        record = _record(ref)
        try:
            dead_letter_discard(record_id=record.pk, actor=_actor(request))
        except AlreadyResolved as exc:
            return _conflict(exc)
        record.refresh_from_db()
        return Response(presenters.dead_letter_summary(record))


class _BulkAction(StaffApi):
    """A bulk action's path (``/api/ops/dlq/redrive``) is also what ``GET
    /api/ops/dlq/{id}`` looks like with that word as the id: such a GET answers as the
    detail does for an id that is none (404 naming ``id``), not 405."""

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response(presenters.dead_letter_detail(_record(request.path.rsplit("/", 1)[-1])))


class DlqRedriveApi(_BulkAction):
    """`POST /api/ops/dlq/redrive`: redrive every pending dead letter matching the filters
    (a JSON body; ``"all": true`` for every pending one). Those whose original topic is
    no redrive target stay pending, listed as ``refused`` (422 when nothing else was)."""

    @extend_schema(
        operation_id="dlq_redrive",
        request=FilterInput,
        responses={200: dict, 400: dict, 422: dict, 503: dict},
    )
    def post(self, request: Request) -> Response:
        filters, detail = _bulk_body(request)
        ids = list(dead_letter_list(filters=filters).values_list("id", flat=True))
        outcome = dead_letters_redrive(
            record_ids=ids, actor=_actor(request), publisher=bootstrap.publisher(), detail=detail
        )
        if outcome.failed and not outcome.done:
            return _unsent(outcome)
        if outcome.refused and not outcome.done:
            return _refused(outcome.refused)
        return _bulk_answer("redriven", outcome)


class DlqDiscardApi(_BulkAction):
    """`POST /api/ops/dlq/discard`: discard every pending dead letter matching the filters."""

    @extend_schema(
        operation_id="dlq_discard",
        request=FilterInput,
        responses={200: dict, 400: dict},
    )
    def post(self, request: Request) -> Response:
        filters, detail = _bulk_body(request)
        ids = list(dead_letter_list(filters=filters).values_list("id", flat=True))
        outcome = dead_letters_discard(record_ids=ids, actor=_actor(request), detail=detail)
        return _bulk_answer("discarded", outcome)


# -- fault injection ---------------------------------------------------------------

_FAULT_FIELDS = {"failureRate", "latencyMs", "failAttempts"}
_AT = re.compile(r" - at `\$\.(\w+)`")


def _fault_settings(data: Any) -> FaultSettings:
    """Validate a FaultSettings body; ValidationError naming each bad field."""
    if not isinstance(data, dict):
        raise ValidationError({"body": ["Must be a JSON object of fault settings."]})
    unknown = sorted(set(data) - _FAULT_FIELDS)
    if unknown:
        known = ", ".join(sorted(_FAULT_FIELDS))
        raise ValidationError(
            {k: [ErrorDetail(f"Unknown field; known: {known}.", code="unknown")] for k in unknown}
        )
    try:
        return decode_faults(json.dumps(data))
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        message = str(exc)
        found = _AT.search(message)
        field = found.group(1) if found else "body"
        text = _AT.sub("", message)
        raise ValidationError({field: [ErrorDetail(text, code="invalid")]}) from None


def _redis_down(exc: redis.RedisError) -> Problem:
    """503 when the fault settings' Redis does not answer (was an unhandled 500)."""
    detail = f"Redis, which holds the fault settings, is unavailable: {type(exc).__name__}."
    return Problem(503, "redis_unavailable", detail, [field_error("redis", "unavailable", detail)])


def _faults_view(settings: FaultSettings) -> dict[str, Any]:
    return {**msgspec.to_builtins(settings), "active": settings.active}


class FaultListApi(StaffApi):
    """`GET /api/ops/faults`: each service's current fault settings."""

    @extend_schema(operation_id="faults_list", responses={200: dict, 503: dict})
    def get(self, request: Request) -> Response:
        try:
            found = faults_get_all(client=bootstrap.redis_client())
        except redis.RedisError as exc:
            raise _redis_down(exc) from None
        return Response({name: _faults_view(s) for name, s in found.items()})


class FaultDetailApi(StaffApi):
    """`PUT /api/ops/faults/{service}`: replace one service's fault settings
    (``failureRate`` 0..1, ``latencyMs`` 0..60000, ``failAttempts`` 0..100)."""

    @extend_schema(
        operation_id="faults_set",
        parameters=[
            OpenApiParameter("service", str, OpenApiParameter.PATH, enum=list(FAULT_SERVICES))
        ],
        request=dict,
        responses={200: dict, 400: dict, 404: dict, 503: dict},
    )
    def put(self, request: Request, service: str) -> Response:
        if service not in FAULT_SERVICES:
            raise NotFound(f"No service {service!r}; services: {', '.join(FAULT_SERVICES)}.")
        settings = _fault_settings(request.data)
        try:
            faults_set(client=bootstrap.redis_client(), service=service, settings=settings)
        except redis.RedisError as exc:
            raise _redis_down(exc) from None
        return Response({service: _faults_view(settings)})
