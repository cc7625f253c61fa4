"""Tests of the payment service: domain (fast), agent (fast), integration (real Kafka)."""
