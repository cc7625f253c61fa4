"""The product catalogue that ``python -m inventory seed`` loads into stock: pure data.

Prices are ``Decimal`` (never floats). ``stock`` is each product's initial level: most
products have plenty, a few very little (``prod-013``, ``prod-021``: 3 units) so that a
demo can run out of stock quickly and watch the saga cancel with ``out_of_stock``.
``prod-001`` is the product of the README's curl example (2 x 49.995).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Product:
    """One catalogue entry: what it is called, what it costs, how many to stock."""

    product_id: str
    name: str
    price: Decimal
    stock: int


def _p(product_id: str, name: str, price: str, stock: int) -> Product:
    return Product(product_id, name, Decimal(price), stock)


CATALOG: tuple[Product, ...] = (
    _p("prod-001", "Espresso beans, 1 kg", "49.995", 1000),
    _p("prod-002", "Pour-over kettle", "39.90", 120),
    _p("prod-003", "Burr grinder", "129.00", 40),
    _p("prod-004", "Ceramic dripper", "24.50", 200),
    _p("prod-005", "Paper filters, 100", "5.99", 500),
    _p("prod-006", "Digital scale", "29.00", 80),
    _p("prod-007", "Milk frother", "59.00", 60),
    _p("prod-008", "Double-wall glass, 2 pack", "18.75", 300),
    _p("prod-009", "Cold brew jar", "34.00", 45),
    _p("prod-010", "Moka pot, 6 cups", "42.00", 75),
    _p("prod-011", "French press", "36.50", 90),
    _p("prod-012", "Tamper, 58 mm", "27.00", 25),
    _p("prod-013", "Hand-thrown cup (limited)", "89.00", 3),
    _p("prod-014", "Barista apron", "31.00", 50),
    _p("prod-015", "Descaler", "9.49", 400),
    _p("prod-016", "Knock box", "22.00", 35),
    _p("prod-017", "Travel mug", "19.90", 250),
    _p("prod-018", "Green tea, 250 g", "14.20", 150),
    _p("prod-019", "Chai spice mix", "8.80", 10),
    _p("prod-020", "Cupping spoon", "12.00", 20),
    _p("prod-021", "Vintage lever machine", "1499.00", 3),
    _p("prod-022", "Espresso machine", "899.00", 12),
    _p("prod-023", "Gooseneck thermometer", "11.30", 5),
    _p("prod-024", "Gift card", "50.00", 999),
)

#: The catalogue by product id.
BY_ID: dict[str, Product] = {p.product_id: p for p in CATALOG}
