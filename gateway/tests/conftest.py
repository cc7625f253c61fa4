"""Fixtures of the gateway's API tests: the catalogue the gateway prices orders from."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from gateway.catalog.models import Product

#: Products in the catalogue of the tests: the README's curl example orders prod-001.
CATALOGUE = {
    "prod-001": Decimal("49.995"),
    "prod-002": Decimal("39.90"),
    "p1": Decimal("1.00"),
    "p": Decimal("1.00"),
    # Dear enough that a few units overflow the largest order total.
    "prod-gold": Decimal("900000000000.000"),
}


@pytest.fixture
def catalogue(db: Any) -> dict[str, Decimal]:
    """The products above, in stock, as the projector would have stored them."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    Product.objects.bulk_create(
        Product(
            product_id=product_id,
            name=product_id,
            price=price,
            available=100,
            reserved=0,
            sold=0,
            updated_at=at,
        )
        for product_id, price in CATALOGUE.items()
    )
    return CATALOGUE
