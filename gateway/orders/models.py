"""Tables of orders: the order (write side and read model) and its timeline."""

from __future__ import annotations

from django.db import models


class OrderStatus(models.TextChoices):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class Order(models.Model):
    """An accepted order. The gateway writes it PENDING; the projector folds events into it."""

    order_id = models.CharField(primary_key=True, max_length=64)
    user_id = models.CharField(max_length=64)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    items = models.JSONField()
    idempotency_key = models.CharField(max_length=255, null=True, blank=True, unique=True)
    request_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    # Read model, maintained by the projector from the saga's events.
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default="PENDING")
    cancel_reason = models.CharField(max_length=32, blank=True, default="")
    payment_status = models.CharField(max_length=16, blank=True, default="")
    payment_detail = models.CharField(max_length=200, blank=True, default="")
    inventory_status = models.CharField(max_length=16, blank=True, default="")
    inventory_detail = models.CharField(max_length=200, blank=True, default="")
    notification_status = models.CharField(max_length=16, blank=True, default="")
    notification_detail = models.CharField(max_length=200, blank=True, default="")
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["status", "-created_at"], name="order_status_created")]


class TimelineEntry(models.Model):
    """One event of an order as the projector saw it: what, where in Kafka, and when."""

    event_id = models.UUIDField(unique=True)
    order_id = models.CharField(max_length=64, db_index=True)
    event_type = models.CharField(max_length=64)
    topic = models.CharField(max_length=128)
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    causation_id = models.CharField(max_length=64, blank=True, default="")
    data = models.JSONField()

    class Meta:
        ordering = ["occurred_at", "id"]
