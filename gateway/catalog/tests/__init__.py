"""Tests of the catalog read model: the projection of stock levels and the product API."""
