"""``gateway.batch_sql``: the statements it builds, and what they do on the test database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper
from django.db.backends.sqlite3.base import DatabaseWrapper as SqliteWrapper

from gateway import batch_sql as sql
from gateway.catalog.models import Product
from gateway.orders.models import TimelineEntry

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PRODUCTS = sql.Table(Product, ("product_id", "name", "price", "available", "reserved", "sold",
                               "updated_at"))  # fmt: skip
FIELDS = PRODUCTS.columns[1:]


def wrapper(vendor: str) -> Any:
    settings = {"NAME": "x", "USER": "", "PASSWORD": "", "HOST": "", "PORT": "",
                "OPTIONS": {}, "TIME_ZONE": None, "CONN_MAX_AGE": 0,
                "CONN_HEALTH_CHECKS": False, "AUTOCOMMIT": True, "ATOMIC_REQUESTS": False,
                "TEST": {}}  # fmt: skip
    return (PostgresWrapper if vendor == "postgresql" else SqliteWrapper)(settings)


def product(product_id: str = "p-1", at: datetime = T0, available: int = 5) -> tuple[Any, ...]:
    return (product_id, "Beans", Decimal("4.500"), available, 0, 0, at)


@pytest.mark.parametrize("vendor", ["postgresql", "sqlite"])
def test_one_insert_for_every_row_with_a_guarded_update(vendor: str) -> None:
    db = wrapper(vendor)
    [(text, params)] = sql.insert(
        PRODUCTS, [product("a"), product("b")], conflict=["product_id"], update=FIELDS,
        newer="updated_at", db=db,
    )  # fmt: skip
    placeholders = "(%s, %s, %s, %s, %s, %s, %s)"
    assert text == (
        'INSERT INTO "catalog_product" ("product_id", "name", "price", "available", '
        '"reserved", "sold", "updated_at") '
        f"VALUES {placeholders}, {placeholders} "
        'ON CONFLICT ("product_id") DO UPDATE SET "name" = excluded."name", '
        '"price" = excluded."price", "available" = excluded."available", '
        '"reserved" = excluded."reserved", "sold" = excluded."sold", '
        '"updated_at" = excluded."updated_at" '
        'WHERE "catalog_product"."updated_at" <= excluded."updated_at"'
    )
    assert len(params) == 14 and params[0] == "a" and params[7] == "b"


def test_without_a_target_a_conflict_on_any_unique_constraint_is_ignored() -> None:
    [(text, _)] = sql.insert(PRODUCTS, [product()], db=wrapper("sqlite"))
    assert text.endswith(") ON CONFLICT DO NOTHING")


def test_values_are_adapted_by_the_model_fields() -> None:
    [(_, params)] = sql.insert(PRODUCTS, [product()], db=wrapper("sqlite"))
    # SQLite stores datetimes as naive UTC text, as the ORM does
    assert params[-1] == "2026-01-01 00:00:00"


def test_an_update_joins_a_values_list_cast_to_the_columns_on_postgresql() -> None:
    table = sql.Table(Product, ("product_id", "available", "updated_at"))
    [(pg, _)] = sql.update(table, "product_id", [("a", 1, T0)], db=wrapper("postgresql"))
    [(lite, _)] = sql.update(table, "product_id", [("a", 1, T0)], db=wrapper("sqlite"))
    assert pg == (
        'WITH v ("c0", "c1", "c2") AS (VALUES (%s, %s, %s)) UPDATE "catalog_product" SET '
        '"available" = CAST(v."c1" AS integer), '
        '"updated_at" = CAST(v."c2" AS timestamp with time zone) FROM v '
        'WHERE "catalog_product"."product_id" = CAST(v."c0" AS varchar(64))'
    )
    assert lite == (
        'WITH v ("c0", "c1", "c2") AS (VALUES (%s, %s, %s)) UPDATE "catalog_product" SET '
        '"available" = v."c1", "updated_at" = v."c2" FROM v '
        'WHERE "catalog_product"."product_id" = v."c0"'
    )


def test_a_batch_beyond_the_parameter_limit_is_split(monkeypatch: pytest.MonkeyPatch) -> None:
    db = wrapper("sqlite")
    monkeypatch.setattr(db.features, "max_query_params", 15)
    statements = sql.insert(PRODUCTS, [product(f"p-{i}") for i in range(5)], db=db)
    assert [len(params) // 7 for _, params in statements] == [2, 2, 1]


def test_a_row_of_the_wrong_width_and_misused_options_are_refused() -> None:
    with pytest.raises(ValueError, match="6 values for 7 columns"):
        sql.insert(PRODUCTS, [product()[:-1]])
    with pytest.raises(ValueError, match="conflict columns"):
        sql.insert(PRODUCTS, [product()], update=FIELDS)
    with pytest.raises(ValueError, match="guards an update"):
        sql.insert(PRODUCTS, [product()], conflict=["product_id"], newer="updated_at")
    with pytest.raises(ValueError, match="not one of the columns"):
        sql.update(PRODUCTS, "id", [product()])


@pytest.mark.django_db
def test_upsert_keeps_the_newest_and_counts_what_it_wrote() -> None:
    def upsert(*rows: tuple[Any, ...]) -> int:
        return sql.execute(
            sql.insert(PRODUCTS, rows, conflict=["product_id"], update=FIELDS, newer="updated_at")
        )

    assert upsert(product("a"), product("b")) == 2
    assert upsert(product("a", T0 - timedelta(seconds=1), available=1)) == 0  # older
    assert upsert(product("a", T0 + timedelta(seconds=1), available=9)) == 1
    assert dict(Product.objects.values_list("product_id", "available")) == {"a": 9, "b": 5}


@pytest.mark.django_db
def test_update_from_values_changes_the_matching_rows_only() -> None:
    sql.execute(sql.insert(PRODUCTS, [product("a"), product("b")]))
    table = sql.Table(Product, ("product_id", "available", "updated_at"))
    later = T0 + timedelta(hours=1)
    changed = sql.execute(sql.update(table, "product_id", [("a", 7, later), ("zz", 1, later)]))
    # Python's sqlite3 reports no row count for a statement that starts with WITH
    assert changed == (1 if connection.vendor == "postgresql" else 0)
    rows = {p.product_id: (p.available, p.updated_at) for p in Product.objects.all()}
    assert rows == {"a": (7, later), "b": (5, T0)}


@pytest.mark.django_db
def test_insert_do_nothing_keeps_the_first_row_of_a_key() -> None:
    table = sql.Table(TimelineEntry, ("event_id", "order_id", "event_type", "topic", "partition",
                                      "offset", "occurred_at", "recorded_at", "causation_id",
                                      "data"))  # fmt: skip
    event_id = uuid.uuid4()
    row = (event_id, "o-1", "order.placed.v1", "orders.v1", 0, 1, T0, T0, "", {"a": [1, "x"]})
    again = (event_id, "o-1", "order.placed.v1", "orders.v1", 0, 2, T0, T0, "", {})
    assert sql.execute(sql.insert(table, [row, again], conflict=["event_id"])) == 1
    entry = TimelineEntry.objects.get()
    assert (entry.offset, entry.data, entry.causation_id) == (1, {"a": [1, "x"]}, "")
