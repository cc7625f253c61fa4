"""Inventory: reserves every line or none, releases on cancellation (issue 3)."""
