"""Reads of the catalog."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet

from gateway.catalog.models import Product


def product_list() -> QuerySet[Product]:
    """Every product with its stock, by product id."""
    return Product.objects.order_by("product_id")


def product_prices(*, product_ids: Iterable[str]) -> dict[str, Decimal]:
    """The catalogue price of each of ``product_ids`` that exists (one query; on
    PostgreSQL without the ORM's query building, which cost more than the query)."""
    wanted = list(dict.fromkeys(product_ids))
    if not wanted:
        return {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_PRICES, [wanted])
            return dict(cursor.fetchall())
    return dict(Product.objects.filter(product_id__in=wanted).values_list("product_id", "price"))


_PRICES = (
    f"SELECT {Product._meta.pk.column}, price FROM {Product._meta.db_table}"
    f" WHERE {Product._meta.pk.column} = ANY(%s)"
)
