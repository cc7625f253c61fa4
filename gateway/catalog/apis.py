"""HTTP API of the catalog: one view per operation, each calling one selector."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gateway.catalog.selectors import product_list

CENT = Decimal("0.01")


class PriceField(serializers.DecimalField):
    """A price as a decimal string: at least two decimals, no trailing zeros past them
    (``39.90``, ``49.995``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=18, decimal_places=3, coerce_to_string=True, **kwargs)

    def to_representation(self, value: Any) -> str:
        price = Decimal(value)
        cents = price.quantize(CENT)
        return f"{cents if cents == price else price.normalize():f}"


class ProductListApi(APIView):
    """`GET /api/products`: every product with its stock, as inventory last published it."""

    @extend_schema_serializer(component_name="Product")
    class OutputSerializer(serializers.Serializer[Any]):
        productId = serializers.CharField(source="product_id")
        name = serializers.CharField()
        price = PriceField()
        available = serializers.IntegerField()
        reserved = serializers.IntegerField()
        sold = serializers.IntegerField()
        updatedAt = serializers.DateTimeField(source="updated_at")

    @extend_schema(
        operation_id="product_list",
        summary="Every product with its stock",
        description="Stock levels are inventory's, projected from `inventory.stock.v1`: "
        "`available` can be ordered, `reserved` is held for orders not decided yet, `sold` "
        "went to completed orders.",
        responses={200: OutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(product_list(), many=True).data)
