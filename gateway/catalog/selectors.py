"""Reads of the catalog."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db.models import QuerySet

from gateway.catalog.models import Product


def product_list() -> QuerySet[Product]:
    """Every product with its stock, by product id."""
    return Product.objects.order_by("product_id")


def product_prices(*, product_ids: Iterable[str]) -> dict[str, Decimal]:
    """The catalogue price of each of ``product_ids`` that exists (one query)."""
    wanted = list(dict.fromkeys(product_ids))
    if not wanted:
        return {}
    return dict(Product.objects.filter(product_id__in=wanted).values_list("product_id", "price"))
