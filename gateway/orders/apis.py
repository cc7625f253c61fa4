"""HTTP API of orders: one view per operation, each calling one service or selector."""

from __future__ import annotations

import functools
import re
import uuid
from decimal import Decimal
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ErrorDetail, NotFound, UnsupportedMediaType, ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from gateway.catalog.selectors import product_prices
from gateway.errors import Problem, field_error
from gateway.orders import presenters
from gateway.orders.domain import (
    CURRENCIES,
    NewOrder,
    RequestedLine,
    amount_mismatch,
    fingerprint,
    lines_total,
    price_lines,
    total_problem,
)
from gateway.orders.models import OrderStatus
from gateway.orders.selectors import order_get, order_list
from gateway.orders.services import order_create
from gateway.pagination import StrictLimitOffsetPagination

IDENT = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*(?!\n)$"
IDENT_HELP = "1-64 characters: letters, digits, '_', '.', ':' or '-', starting alphanumeric"
_IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}")
#: Lines per order.
MAX_LINES = 100


def _not_a(kind: str, data: Any) -> ValidationError:
    return ValidationError(
        [ErrorDetail(f"Must be a {kind}, not {_json_type(data)}.", code="invalid_type")]
    )


def _json_type(data: Any) -> str:
    if data is None:
        return "null"
    if isinstance(data, bool):
        return "a boolean"
    if isinstance(data, int | float):
        return "a number"
    if isinstance(data, str):
        return "a string"
    return "an array" if isinstance(data, list) else "an object"


class StrictIdentField(serializers.RegexField):
    """An identifier: a JSON string only (``123`` is not ``"123"``), taken as sent
    (``"user-1\\n"`` is refused, not trimmed)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            IDENT,
            max_length=64,
            trim_whitespace=False,
            error_messages={"invalid": f"Must be {IDENT_HELP}."},
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise _not_a("string", data)
        return str(super().to_internal_value(data))


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only (``"3"``, ``3.0`` and ``true`` are refused)."""

    def to_internal_value(self, data: Any) -> int:
        if type(data) is not int:
            raise _not_a("JSON integer", data)
        return int(super().to_internal_value(data))


class MoneyField(serializers.DecimalField):
    """A decimal amount as a JSON number or a decimal string (``49.995``, ``"49.995"``)."""

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool) or not isinstance(data, int | float | str):
            raise _not_a("number or a decimal string", data)
        return Decimal(super().to_internal_value(data))


class StrictSerializer(serializers.Serializer[Any]):
    """Refuses fields it does not know, reported with the other errors."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = {}
        if isinstance(data, dict):
            known = ", ".join(self.fields)
            unknown = {
                key[:64]: [ErrorDetail(f"Unknown field; known: {known}.", code="unknown")]
                for key in data
                if key not in self.fields
            }
        try:
            value = super().to_internal_value(data)
        except ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise ValidationError({**exc.detail, **unknown}) from None
            raise
        if unknown:
            raise ValidationError(unknown)
        return value


class OrderLineInput(StrictSerializer):
    productId = StrictIdentField(help_text="A product of `GET /api/products`.")
    quantity = StrictIntegerField(min_value=1, max_value=10_000)
    price = MoneyField(
        max_digits=18,
        decimal_places=3,
        min_value=Decimal(0),
        required=False,
        help_text="Optional. The platform prices every line from its catalogue; a price "
        "given must be the catalogue's, else the order is refused with 422 naming the line.",
    )


class SessionReader(SessionAuthentication):
    """The session's user for reads (GET, HEAD, OPTIONS), which decides how much of an
    order is shown; nobody for writes, so placing an order never depends on a session
    (nor needs its CSRF token), as before."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:  # no CSRF: reads only
        if request.method not in SAFE_METHODS:
            return None
        user = getattr(request._request, "user", None)
        if user is None or not user.is_active:
            return None
        return user, None


class SessionReaderScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """``SessionReader`` in the OpenAPI document: the session cookie, optional."""

    target_class = SessionReader
    name = "staffSession"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


class OrderCollectionApi(APIView):
    """`/api/orders`: POST accepts an order (202 + Location; the saga runs
    asynchronously); GET lists orders newest first, paged, filtered by ``status``.

    Prices come from the platform, never from the client: each line is priced from the
    catalogue (`GET /api/products`). A line naming an unknown product, or stating a
    ``price`` other than the catalogue's, is refused with 422 naming the line
    (``items[2].productId``, ``items[2].price``); ``amount``, when given, must equal the
    priced total (400 otherwise), and the total must stay within 999999999999.99 (422
    naming ``amount``, whether or not it was sent). Input is strict: unknown fields,
    strings for numbers, numbers for strings, currencies outside ISO 4217, more than 100
    lines and two lines of one product (``items[1].productId``: merge them into one
    line with the summed quantity) are 400s naming the field.

    Customer data (``gateway.orders.presenters``): the POST answers with the order as
    sent; the list shows staff (a staff session) every field, and anyone else each
    order without personal fields: ``userId`` as a pseudonym (``anon-…``), no
    notification text.
    """

    authentication_classes = [SessionReader]

    class InputSerializer(StrictSerializer):
        orderId = StrictIdentField(required=False)
        userId = StrictIdentField()
        amount = MoneyField(
            max_digits=14,
            decimal_places=2,
            min_value=Decimal(0),
            required=False,
            help_text="Optional: the total the client expects; must equal the priced total.",
        )
        currency = serializers.ChoiceField(
            choices=sorted(CURRENCIES),
            required=False,
            default="USD",
            error_messages={"invalid_choice": "Must be an ISO 4217 currency code such as USD."},
        )
        items = OrderLineInput(many=True, allow_empty=False, max_length=MAX_LINES)  # type: ignore[call-arg]

        def validate_items(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            first: dict[str, int] = {}
            duplicates: list[dict[str, Any]] = [{} for _ in items]
            for index, line in enumerate(items):
                seen = first.setdefault(line["productId"], index)
                if seen != index:
                    message = (
                        f"Product {line['productId']!r} is already ordered by items[{seen}]: "
                        "one line per product, with the total quantity."
                    )
                    duplicates[index] = {"productId": [ErrorDetail(message, code="duplicate")]}
            if any(duplicates):
                raise ValidationError(duplicates)
            return items

    @extend_schema(
        operation_id="order_create",
        request=InputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Repeat a request safely: the same key and body return the same "
                "order; the same key with a different body is 422.",
            )
        ],
        responses={202: dict, 400: dict, 413: dict, 415: dict, 422: dict},
        description="Prices come from the catalogue: a line's optional `price` must equal "
        "the catalogue's (else 422 naming `items[i].price`); an unknown product is 422 "
        "naming `items[i].productId`; `amount`, optional, must equal the priced total; "
        "one line per product; unknown fields are refused.",
    )
    def post(self, request: Request) -> Response:
        if not (request.content_type or "").startswith("application/json"):
            raise UnsupportedMediaType(request.content_type or "(none)")
        data = _validated_order(request.data)
        key = _idempotency_key(request)
        requested = [
            RequestedLine(x["productId"], x["quantity"], x.get("price")) for x in data["items"]
        ]
        lines, problems = price_lines(
            requested, product_prices(product_ids=[x.product_id for x in requested])
        )
        if problems:
            raise Problem(
                422,
                "order_rejected",
                "The order does not match the catalogue.",
                [field_error(p.field, p.code, p.message) for p in problems],
            )
        total = lines_total(lines)
        if too_large := total_problem(total):
            raise Problem(
                422, "order_rejected", too_large, [field_error("amount", "too_large", too_large)]
            )
        amount = data.get("amount")
        if amount is not None and (problem := amount_mismatch(amount, lines)):
            raise ValidationError({"amount": [ErrorDetail(problem, code="amount_mismatch")]})
        new = NewOrder(
            order_id=data.get("orderId") or str(uuid.uuid4()),
            user_id=data["userId"],
            currency=data["currency"],
            amount=total,
            lines=lines,
        )
        accepted = order_create(
            new=new,
            idempotency_key=key,
            request_hash=fingerprint(new, with_id="orderId" in data),
        )
        order = accepted.order
        headers = {"Location": f"/api/orders/{order.order_id}"}
        if not accepted.created:
            headers["Idempotent-Replayed"] = "true"
        return Response(presenters.order_summary(order), status.HTTP_202_ACCEPTED, headers=headers)

    Pagination = StrictLimitOffsetPagination

    class FilterSerializer(serializers.Serializer[Any]):
        status = serializers.ChoiceField(choices=OrderStatus.values, required=False)

    @extend_schema(
        operation_id="order_list",
        description="Staff (a staff session) see every field; anyone else sees each order's "
        "`userId` as a pseudonym (`anon-…`) and no notification text.",
        parameters=[
            OpenApiParameter("status", str, enum=OrderStatus.values),
            OpenApiParameter("limit", int),
            OpenApiParameter("offset", int),
        ],
        responses={
            200: inline_serializer(
                "OrderPage",
                {
                    "count": serializers.IntegerField(),
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": serializers.ListField(child=serializers.DictField()),
                },
            )
        },
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = self.Pagination()
        page = paginator.paginate_queryset(
            order_list(status=filters.validated_data.get("status")), request, view=self
        )
        rows = [presenters.order_summary(o) for o in page or []]
        if not presenters.sees_customer_data(request):
            rows = [presenters.public_summary(r) for r in rows]
        return paginator.get_paginated_response(rows)


class OrderDetailApi(APIView):
    """One order: its status, payment and inventory state, and its event timeline.

    Readable by whoever knows the id (the ``Location`` of ``POST /api/orders``); since the
    public dashboard shows every order id, an id is no secret, so anyone but staff (a
    staff session) gets the order without personal fields, like the list: ``userId`` and
    every ``user_id`` of the timeline as a pseudonym (``anon-…``), no notification text
    (``notification.detail``, the ``subject`` and ``body`` of ``NotificationSent``).
    """

    authentication_classes = [SessionReader]

    @extend_schema(
        operation_id="order_get",
        responses={200: dict, 404: dict},
        description="Staff (a staff session) see every field; anyone else sees `userId` "
        "as a pseudonym (`anon-…`) and no notification text.",
    )
    def get(self, request: Request, order_id: str) -> Response:
        if not _IDENT.fullmatch(order_id):
            # Checked before the database sees it (a NUL was a 500 on PostgreSQL).
            message = f"Must be {IDENT_HELP}."
            raise Problem(
                404,
                "not_found",
                f"No order with id {order_id[:64]!r}: {message}",
                [field_error("orderId", "invalid", message)],
            )
        found = order_get(order_id=order_id)
        if found is None:
            raise NotFound(f"No order with id {order_id!r}.")
        body = presenters.order_summary(found.order)
        body["timeline"] = presenters.timeline(found.timeline)
        if not presenters.sees_customer_data(request):
            body = presenters.public_summary(body)
        return Response(body)


@functools.cache
def _order_input() -> OrderCollectionApi.InputSerializer:
    """One ``InputSerializer`` validates every order: what ``is_valid`` runs, with the
    same errors, without DRF's deep copy of the declared fields (nested line fields
    included) for each new serializer, which was half the validation's cost. Validation
    keeps no state in the instance, so threads share it."""
    return OrderCollectionApi.InputSerializer()


def _validated_order(data: Any) -> Any:
    """``data`` validated by `_order_input`; its ``ValidationError`` as ``is_valid``
    raises it (which words a ``null`` body "No data provided")."""
    try:
        return _order_input().run_validation(data)
    except ValidationError as exc:
        detail = exc.detail
        if (
            isinstance(detail, list)
            and len(detail) == 1
            and getattr(detail[0], "code", "") == "null"
        ):
            no_data = ErrorDetail("No data provided", code="null")
            raise ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [no_data]}) from None
        raise


_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def _idempotency_key(request: Request) -> str | None:
    """The ``Idempotency-Key`` header: 1-255 printable ASCII characters, or absent."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not _KEY.fullmatch(key):
        raise ValidationError(
            {"Idempotency-Key": ["Must be 1-255 printable ASCII characters without spaces."]}
        )
    return str(key)
