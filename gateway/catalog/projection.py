"""Fold ``StockLevel`` events into the catalog read model (called by the projector)."""

from __future__ import annotations

from contracts import StockLevel


def project_stock(levels: list[StockLevel]) -> int:
    """Upsert the latest level of each product in one transaction; return rows written."""
    raise NotImplementedError("filled in by the inventory work")
