"""The outbox table."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class OutboxMessage(models.Model):
    """An event waiting for the relay, written in the same transaction as its order."""

    topic = models.CharField(max_length=128)
    key = models.BinaryField()
    value = models.BinaryField()
    headers = models.JSONField(default=list)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Created by the orders app (orders.0001), which held the model until the outbox
        # became an app of its own: same table, no data moved.
        db_table = "orders_outboxmessage"
        indexes = [
            models.Index(fields=["id"], name="outbox_unsent", condition=Q(sent_at__isnull=True))
        ]
