"""Wiping the read model and projecting the same events again gives the same orders."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

import contracts
from gateway.catalog.models import Product
from gateway.consumed import Seen
from gateway.orders.models import Order, TimelineEntry
from gateway.orders.presenters import order_summary, timeline
from gateway.projector.projection import project_batch
from gateway.projector.rebuild import read_model_wipe

pytestmark = pytest.mark.django_db

EXAMPLES = Path(contracts.__file__).parent / "examples"
ORDER = "550e8400-e29b-41d4-a716-446655440000"


def events() -> list[Seen]:
    names = ("order.placed", "payment.authorized", "inventory.reserved", "order.completed",
             "inventory.stock_level")  # fmt: skip
    return [
        Seen("t", 0, n, contracts.decode((EXAMPLES / f"{name}.v1.json").read_bytes()))
        for n, name in enumerate(names)
    ]


def picture() -> dict[str, object]:
    order = Order.objects.get(order_id=ORDER)
    view = {k: v for k, v in order_summary(order).items() if k != "updatedAt"}
    entries = list(TimelineEntry.objects.filter(order_id=ORDER))
    return {
        "order": view,
        "timeline": [{k: v for k, v in e.items() if k != "recordedAt"} for e in timeline(entries)],
        "products": list(Product.objects.values_list("product_id", "available")),
    }


def test_wipe_then_replay_rebuilds_the_same_read_model() -> None:
    project_batch(events())
    before = picture()
    assert before["order"]["status"] == "COMPLETED"  # type: ignore[index]

    counts = read_model_wipe()
    assert counts == {"orders": 1, "timeline": 4, "products": 1, "windows": 0}
    order = Order.objects.get(order_id=ORDER)
    assert (order.status, order.payment_status, order.items != []) == ("PENDING", "", True)
    assert not TimelineEntry.objects.exists() and not Product.objects.exists()

    project_batch(list(reversed(events())))  # any order of arrival
    assert picture() == before


def test_the_management_command_reports_what_it_wiped(capsys: pytest.CaptureFixture[str]) -> None:
    project_batch(events())
    call_command("wipe_read_model")
    out = capsys.readouterr().out
    assert "read model wiped: 1 orders, 4 timeline, 1 products, 0 windows" in out
