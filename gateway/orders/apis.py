"""HTTP API of orders: one view per operation, each calling one service or selector."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ErrorDetail, NotFound, UnsupportedMediaType, ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contracts import OrderLine
from gateway.orders import presenters
from gateway.orders.domain import NewOrder, amount_mismatch, fingerprint, lines_total
from gateway.orders.models import OrderStatus
from gateway.orders.selectors import order_get, order_list
from gateway.orders.services import order_create

IDENT = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"
IDENT_HELP = "1-64 characters: letters, digits, '_', '.', ':' or '-', starting alphanumeric"


def _ident(**kwargs: Any) -> serializers.RegexField:
    return serializers.RegexField(
        IDENT,
        max_length=64,
        error_messages={"invalid": f"Must be {IDENT_HELP}."},
        **kwargs,
    )


class OrderLineInput(serializers.Serializer[Any]):
    productId = _ident()
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)
    price = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=Decimal(0))


class OrderCollectionApi(APIView):
    """`/api/orders`: POST accepts an order (202 + Location; the saga runs
    asynchronously); GET lists orders newest first, paged, filtered by ``status``."""

    class InputSerializer(serializers.Serializer[Any]):
        orderId = _ident(required=False)
        userId = _ident()
        amount = serializers.DecimalField(
            max_digits=14, decimal_places=2, min_value=Decimal(0), required=False
        )
        currency = serializers.RegexField(
            r"^[A-Z]{3}$",
            required=False,
            default="USD",
            error_messages={"invalid": "Must be a three-letter ISO 4217 code such as USD."},
        )
        items = OrderLineInput(many=True, allow_empty=False, max_length=100)  # type: ignore[call-arg]

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
    )
    def post(self, request: Request) -> Response:
        if not (request.content_type or "").startswith("application/json"):
            raise UnsupportedMediaType(request.content_type or "(none)")
        given = self.InputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        lines = tuple(
            OrderLine(product_id=x["productId"], quantity=x["quantity"], unit_price=x["price"])
            for x in data["items"]
        )
        amount = data.get("amount")
        if amount is not None and (problem := amount_mismatch(amount, lines)):
            raise ValidationError({"amount": [ErrorDetail(problem, code="amount_mismatch")]})
        key = request.headers.get("Idempotency-Key") or None
        if key is not None and len(key) > 255:
            raise ValidationError({"Idempotency-Key": ["Must be at most 255 characters."]})
        new = NewOrder(
            order_id=data.get("orderId") or str(uuid.uuid4()),
            user_id=data["userId"],
            currency=data["currency"],
            amount=amount if amount is not None else lines_total(lines),
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

    class Pagination(LimitOffsetPagination):
        default_limit = 50
        max_limit = 500

    class FilterSerializer(serializers.Serializer[Any]):
        status = serializers.ChoiceField(choices=OrderStatus.values, required=False)

    @extend_schema(
        operation_id="order_list",
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
        return paginator.get_paginated_response([presenters.order_summary(o) for o in page or []])


class OrderDetailApi(APIView):
    """One order: its status, payment and inventory state, and its event timeline."""

    @extend_schema(operation_id="order_get", responses={200: dict, 404: dict})
    def get(self, request: Request, order_id: str) -> Response:
        found = order_get(order_id=order_id)
        if found is None:
            raise NotFound(f"No order with id {order_id!r}.")
        body = presenters.order_summary(found.order)
        body["timeline"] = presenters.timeline(found.timeline)
        return Response(body)
