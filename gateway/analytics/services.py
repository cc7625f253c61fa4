"""Writes of the analytics app: record a page view as a ``PageViewed`` for analytics."""

from __future__ import annotations

import uuid

from django.utils import timezone

from contracts import PageViewed, topics
from gateway.outbox.services import outbox_add


def page_view_record(*, page: str, session_id: str = "") -> PageViewed:
    """Queue a ``PageViewed`` of ``page`` in the outbox; the relay publishes it to
    ``analytics.pageviews.v1``. One insert: the page load never waits for Kafka."""
    event = PageViewed(
        occurred_at=timezone.now(),
        correlation_id=f"view-{uuid.uuid4().hex}",
        page=page,
        session_id=session_id,
    )
    outbox_add(event, topic=topics.PAGEVIEWS.name)
    return event
