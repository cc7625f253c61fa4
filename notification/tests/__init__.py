"""Tests of the notification service: domain, senders, agent (fast), integration (Kafka)."""
