"""The analytics read model: one row per window, its latest ``TopProductsUpdated``."""

from __future__ import annotations

from django.db import models


class WindowSnapshot(models.Model):
    """The latest snapshot of one window (``kind``, ``window_start``).

    ``published_at`` is the snapshot's ``occurred_at``: analytics publishes a window again
    whenever its counts change, and the projector keeps the latest, whatever order
    snapshots arrive in. The lists are the snapshot's, in wire form with camelCase keys.
    """

    kind = models.CharField(max_length=16)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    published_at = models.DateTimeField()
    event_id = models.UUIDField()
    demand = models.JSONField(default=list)
    sales = models.JSONField(default=list)
    pageviews = models.JSONField(default=list)
    late_events = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "window_start"], name="one_snapshot_per_window")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.window_start:%Y-%m-%d %H:%M}"
