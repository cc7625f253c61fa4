"""``GET /api/products``: every product with its stock, camelCase, price as a string."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from gateway.catalog.models import Product

pytestmark = [pytest.mark.django_db, pytest.mark.urls("gateway.catalog.tests.urls")]

AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def product(product_id: str, price: str, available: int = 5, **kw) -> Product:
    fields = {"name": f"Name of {product_id}", "reserved": 0, "sold": 0, "updated_at": AT, **kw}
    return Product.objects.create(
        product_id=product_id, price=Decimal(price), available=available, **fields
    )


def test_no_products_is_an_empty_list(client) -> None:
    response = client.get("/api/products")
    assert response.status_code == 200
    assert response.json() == []


def test_every_product_with_its_stock_by_product_id(client) -> None:
    product("prod-002", "39.90", available=120)
    product("prod-001", "49.995", available=998, reserved=2, sold=0)
    product("prod-013", "89", available=0, reserved=1, sold=2)

    body = client.get("/api/products").json()

    assert [p["productId"] for p in body] == ["prod-001", "prod-002", "prod-013"]
    assert body[0] == {
        "productId": "prod-001",
        "name": "Name of prod-001",
        "price": "49.995",
        "available": 998,
        "reserved": 2,
        "sold": 0,
        "updatedAt": "2026-01-01T12:00:00Z",
    }
    assert [p["price"] for p in body] == ["49.995", "39.90", "89.00"]
    assert (body[2]["available"], body[2]["reserved"], body[2]["sold"]) == (0, 1, 2)


def test_the_list_is_read_only(client) -> None:
    assert client.post("/api/products", {}, content_type="application/json").status_code == 405


def test_the_operation_is_in_the_openapi_schema(client) -> None:
    schema = client.get("/api/schema", {"format": "json"}).json()
    operation = schema["paths"]["/api/products"]["get"]
    assert operation["operationId"] == "product_list"
    response = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert response == {"type": "array", "items": {"$ref": "#/components/schemas/Product"}}
    product = schema["components"]["schemas"]["Product"]
    assert product["properties"]["price"]["type"] == "string"
    assert set(product["required"]) == {
        "productId",
        "name",
        "price",
        "available",
        "reserved",
        "sold",
        "updatedAt",
    }
