"""Tables of operations: one row per dead letter seen on the DLQ topic, and the audit log
of what operators did with them."""

from __future__ import annotations

from django.db import models


class DeadLetterStatus(models.TextChoices):
    PENDING = "pending"
    REDRIVEN = "redriven"
    DISCARDED = "discarded"


class DeadLetterRecord(models.Model):
    """A ``DeadLetter`` event as the projector read it from ``orders.dlq.v1``.

    ``raw`` keeps the record's value exactly as consumed: a redrive decodes it, so the
    original bytes go back unchanged. The other columns are what filters and lists need.
    """

    event_id = models.UUIDField(unique=True)
    dlq_topic = models.CharField(max_length=128)
    dlq_partition = models.IntegerField()
    dlq_offset = models.BigIntegerField()
    raw = models.BinaryField()
    original_topic = models.CharField(max_length=128)
    original_partition = models.IntegerField()
    original_offset = models.BigIntegerField()
    consumer_group = models.CharField(max_length=128)
    error_type = models.CharField(max_length=200)
    error_message = models.TextField()
    attempts = models.IntegerField()
    failed_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=DeadLetterStatus.choices, default=DeadLetterStatus.PENDING
    )
    resolved_by = models.CharField(max_length=150, blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-failed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dlq_topic", "dlq_partition", "dlq_offset"], name="dlq_position_unique"
            )
        ]
        indexes = [
            models.Index(fields=["status", "-failed_at"], name="dlq_status_failed"),
            models.Index(fields=["original_topic", "error_type"], name="dlq_topic_error"),
        ]


class AuditAction(models.TextChoices):
    REDRIVE = "redrive"
    DISCARD = "discard"


class AuditEntry(models.Model):
    """One operator action: who did what, when, to which dead letters."""

    action = models.CharField(max_length=16, choices=AuditAction.choices)
    actor = models.CharField(max_length=150)
    at = models.DateTimeField()
    #: The dead letters the action changed.
    records = models.ManyToManyField(DeadLetterRecord, related_name="audit")
    #: The filters of a bulk action, failures, the target topics: what else happened.
    detail = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at", "-id"]
