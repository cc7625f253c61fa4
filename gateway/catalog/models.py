"""The catalog read model: every product with its latest stock level from inventory."""

from __future__ import annotations

from django.db import models


class Product(models.Model):
    """A product as the latest ``StockLevel`` on ``inventory.stock.v1`` describes it.

    Inventory owns the stock (in Redis); this row is a projection of it. ``updated_at``
    is the level's ``occurred_at``, which inventory increases with every change of the
    product: the projector keeps the latest, whatever order levels arrive in.
    """

    product_id = models.CharField(primary_key=True, max_length=64)
    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=18, decimal_places=3)
    available = models.PositiveIntegerField()
    reserved = models.PositiveIntegerField()
    sold = models.PositiveIntegerField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["product_id"]

    def __str__(self) -> str:
        return f"{self.product_id} ({self.name})"
