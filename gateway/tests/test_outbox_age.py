"""Outbox age (issue 12, late events): a metric, and a readiness condition naming it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from config.prometheus import render
from contracts import topics
from contracts.testing import order_placed
from gateway import health
from gateway.operations.kafka_figures import KafkaFigures
from gateway.operations.metrics import gateway_metrics
from gateway.outbox.services import outbox_add, outbox_mark_sent, outbox_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready_but_outbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every dependency but the outbox answers (the fast tier has no broker or Redis)."""
    for name in ("kafka", "redis"):
        monkeypatch.setitem(health.CHECKS, name, lambda: None)


def test_no_unsent_row_means_no_age() -> None:
    assert outbox_state() == outbox_state().__class__(backlog=0, oldest_age_s=0.0)


def test_the_age_is_the_oldest_unsent_rows() -> None:
    now = timezone.now()
    old = outbox_add(
        order_placed(order_id="o-1"), topic=topics.ORDERS.name, at=now - timedelta(seconds=40)
    )
    outbox_add(
        order_placed(order_id="o-2"), topic=topics.ORDERS.name, at=now - timedelta(seconds=5)
    )
    state = outbox_state(now=now)
    assert (state.backlog, round(state.oldest_age_s)) == (2, 40)
    outbox_mark_sent(ids=[old.id])
    assert round(outbox_state(now=now).oldest_age_s) == 5


def test_the_metric_shows_the_age() -> None:
    text = render(
        gateway_metrics(
            requests={},
            accepted=0,
            outbox_backlog=3,
            outbox_oldest_age_s=12.5,
            pending=[],
            resolved={},
            broker=KafkaFigures(error=None),
        )
    )
    assert "gateway_outbox_oldest_age_seconds 12.5" in text


def test_ready_fails_naming_the_outbox_while_its_oldest_row_waits_too_long(
    settings: Any, client: Client, ready_but_outbox: None
) -> None:
    settings.GATEWAY_OUTBOX_MAX_AGE_S = 30
    outbox_add(order_placed(order_id="o-3"), topic=topics.ORDERS.name)
    fresh = client.get("/ready")
    assert fresh.status_code == 200 and fresh.json()["checks"]["outbox"]["status"] == "up"

    outbox_add(
        order_placed(order_id="o-4"),
        topic=topics.ORDERS.name,
        at=timezone.now() - timedelta(seconds=45),
    )
    stale = client.get("/ready")
    assert stale.status_code == 503
    check = stale.json()["checks"]["outbox"]
    assert check["status"] == "down" and "relay or Kafka is behind" in check["error"]
