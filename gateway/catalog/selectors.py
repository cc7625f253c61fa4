"""Reads of the catalog."""

from __future__ import annotations

from django.db.models import QuerySet

from gateway.catalog.models import Product


def product_list() -> QuerySet[Product]:
    """Every product with its stock, by product id."""
    return Product.objects.order_by("product_id")
