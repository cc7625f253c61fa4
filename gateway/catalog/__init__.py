"""Catalog: the products and their stock levels as inventory publishes them (read model)."""
