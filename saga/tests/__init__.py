"""Tests of the saga: domain (fast), agent (fast), integration (real Kafka)."""
