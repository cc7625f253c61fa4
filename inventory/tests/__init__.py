"""Tests of the inventory service: domain (fast), agent (fast), store and worker (integration)."""
