"""``project_stock``: the latest level of each product, upserted in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from contracts import StockLevel
from gateway.catalog.models import Product
from gateway.catalog.projection import project_stock

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)


def level(product_id: str = "prod-001", at: datetime = T0, available: int = 10, **kw) -> StockLevel:
    fields = {"name": "Beans", "price": Decimal("49.995"), "reserved": 0, "sold": 0, **kw}
    return StockLevel(
        correlation_id="test",
        occurred_at=at,
        product_id=product_id,
        available=available,
        **fields,
    )


def row(product_id: str = "prod-001") -> tuple:
    p = Product.objects.get(product_id=product_id)
    return (p.name, p.price, p.available, p.reserved, p.sold, p.updated_at)


def test_new_products_are_inserted_with_their_level() -> None:
    written = project_stock([level(), level("prod-002", name="Kettle", price=Decimal("39.90"))])
    assert written == 2
    assert row() == ("Beans", Decimal("49.995"), 10, 0, 0, T0)
    assert row("prod-002")[:2] == ("Kettle", Decimal("39.900"))


def test_the_latest_level_of_a_batch_wins_whatever_its_position() -> None:
    later = T0 + timedelta(microseconds=1)
    project_stock([level(at=later, available=7, reserved=3), level(at=T0, available=10)])
    assert row()[2:] == (7, 3, 0, later)


def test_an_older_level_never_overwrites_a_newer_one() -> None:
    project_stock([level(at=T0 + timedelta(seconds=5), available=4, sold=6)])
    assert project_stock([level(at=T0, available=10)]) == 0
    assert row()[2:5] == (4, 0, 6)


def test_a_newer_level_updates_every_field() -> None:
    project_stock([level()])
    later = T0 + timedelta(seconds=1)
    project_stock([level(at=later, available=8, reserved=1, sold=1, name="Beans 1kg")])
    assert row() == ("Beans 1kg", Decimal("49.995"), 8, 1, 1, later)


def test_a_redelivered_batch_changes_nothing() -> None:
    batch = [level(available=9), level("prod-002", available=3)]
    project_stock(batch)
    before = list(Product.objects.values())
    project_stock(batch)
    assert list(Product.objects.values()) == before


def test_an_empty_batch_writes_nothing() -> None:
    assert project_stock([]) == 0
    assert not Product.objects.exists()


def test_a_batch_costs_a_constant_number_of_queries(django_assert_max_num_queries) -> None:
    batch = [level(f"prod-{i:03d}", at=T0 + timedelta(microseconds=i)) for i in range(1, 25)]
    with django_assert_max_num_queries(4):  # savepoint, read, upsert, release
        assert project_stock(batch) == 24
    with django_assert_max_num_queries(4):
        project_stock([level(f"prod-{i:03d}", at=T0 + timedelta(hours=1)) for i in range(1, 25)])
    assert Product.objects.filter(updated_at=T0 + timedelta(hours=1)).count() == 24
