"""Reads of the analytics read model."""

from __future__ import annotations

from gateway.analytics.models import WindowSnapshot


def snapshot_latest(*, kind: str) -> WindowSnapshot | None:
    """The snapshot of the newest window of ``kind`` (``None`` before the first one)."""
    return WindowSnapshot.objects.filter(kind=kind).order_by("-window_start").first()
