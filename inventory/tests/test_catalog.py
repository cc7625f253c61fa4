"""The catalogue is valid data for the contracts and good for demos."""

from __future__ import annotations

import re
from decimal import Decimal

from inventory.catalog import BY_ID, CATALOG

IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")


def test_twenty_four_products_with_sequential_ids() -> None:
    assert [p.product_id for p in CATALOG] == [f"prod-{i:03d}" for i in range(1, 25)]
    assert len(BY_ID) == len(CATALOG)


def test_every_product_is_a_valid_contract_value() -> None:
    for p in CATALOG:
        assert IDENT.match(p.product_id)
        assert 0 < len(p.name) <= 200
        assert isinstance(p.price, Decimal)
        assert p.price.is_finite()
        assert p.price > 0
        assert p.stock > 0


def test_the_curl_example_product_has_plenty_of_stock() -> None:
    curl = BY_ID["prod-001"]
    assert curl.price == Decimal("49.995")
    assert curl.stock >= 500


def test_a_few_products_run_out_quickly_and_levels_vary() -> None:
    assert sum(p.stock <= 3 for p in CATALOG) >= 2
    assert len({p.stock for p in CATALOG}) >= 15
