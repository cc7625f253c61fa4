"""The analytics read model and API: snapshots kept per window, the newest one served."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from contracts import PageStat, PageViewed, ProductStat, TopProductsUpdated, decode, topics
from gateway.analytics.models import WindowSnapshot
from gateway.analytics.projection import project_snapshots
from gateway.outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def snap(
    start: datetime = T0,
    kind: str = "tumbling_1m",
    at: datetime = T0 + timedelta(seconds=30),
    demand: tuple[tuple[str, int, str], ...] = (("p-1", 5, "10.00"), ("p-2", 1, "99.00")),
    views: int = 3,
) -> TopProductsUpdated:
    size = timedelta(minutes=1 if kind == "tumbling_1m" else 5)
    return TopProductsUpdated(
        occurred_at=at,
        correlation_id=f"analytics-{kind}",
        window_kind=kind,  # type: ignore[arg-type]
        window_start=start,
        window_end=start + size,
        demand=tuple(ProductStat(product_id=p, units=u, revenue=Decimal(r)) for p, u, r in demand),
        sales=(ProductStat(product_id="p-2", units=1, revenue=Decimal("99.00")),),
        pageviews=(PageStat(page="/", views=views),),
        late_events=2,
    )


def test_each_window_keeps_its_latest_snapshot_whatever_the_order() -> None:
    newer = snap(at=T0 + timedelta(seconds=40), views=5)
    assert project_snapshots([newer, snap()]) == 1
    assert project_snapshots([snap(at=T0 + timedelta(seconds=35))]) == 0  # older than stored

    [row] = WindowSnapshot.objects.all()
    assert (row.published_at, row.pageviews) == (newer.occurred_at, [{"page": "/", "views": 5}])
    assert row.demand[0] == {"productId": "p-1", "units": 5, "revenue": "10.00"}


def test_windows_a_day_older_than_the_newest_are_dropped() -> None:
    project_snapshots([snap(T0), snap(T0 + timedelta(minutes=1)), snap(T0, kind="hopping_5m")])
    project_snapshots([snap(T0 + timedelta(days=1, minutes=1))])

    kept = sorted((r.kind, r.window_start) for r in WindowSnapshot.objects.all())
    assert kept == [
        ("hopping_5m", T0),  # the newest of its kind
        ("tumbling_1m", T0 + timedelta(minutes=1)),  # ends exactly a day before the newest
        ("tumbling_1m", T0 + timedelta(days=1, minutes=1)),
    ]


def test_top_products_of_the_newest_window_by_units_or_revenue(client) -> None:
    project_snapshots([snap(T0), snap(T0 + timedelta(minutes=1), at=T0 + timedelta(minutes=2))])

    body = client.get("/api/analytics/top-products").json()
    assert body["window"] == {
        "kind": "tumbling_1m",
        "start": "2026-03-01T12:01:00Z",
        "end": "2026-03-01T12:02:00Z",
        "publishedAt": "2026-03-01T12:02:00Z",
        "lateEvents": 2,
    }
    assert body["by"] == "units"
    assert [p["productId"] for p in body["demand"]] == ["p-1", "p-2"]
    assert body["sales"] == [{"productId": "p-2", "units": 1, "revenue": "99.00"}]
    by_revenue = client.get("/api/analytics/top-products?by=revenue&limit=1").json()
    assert [p["productId"] for p in by_revenue["demand"]] == ["p-2"]


def test_the_five_minute_window_and_no_snapshot_yet(client) -> None:
    empty = client.get("/api/analytics/top-products?window=5m").json()
    assert empty == {"window": None, "by": "units", "demand": [], "sales": []}
    project_snapshots([snap(T0, kind="hopping_5m")])

    body = client.get("/api/analytics/top-products?window=5m").json()
    assert (body["window"]["kind"], body["window"]["end"]) == ("hopping_5m", "2026-03-01T12:05:00Z")


@pytest.mark.parametrize(
    ("query", "field"),
    [("window=2m", "window"), ("by=price", "by"), ("limit=0", "limit"), ("limit=x", "limit")],
)
def test_bad_parameters_are_400_naming_the_field(client, query: str, field: str) -> None:
    response = client.get(f"/api/analytics/top-products?{query}")

    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert [e["field"] for e in body["errors"]] == [field]


def test_page_views_of_the_newest_window(client) -> None:
    assert client.get("/api/analytics/pageviews").json() == {"window": None, "pages": []}
    project_snapshots([snap(T0, views=7)])

    body = client.get("/api/analytics/pageviews?window=1m").json()
    assert body["pages"] == [{"page": "/", "views": 7}]
    assert body["window"]["start"] == "2026-03-01T12:00:00Z"
    assert client.get("/api/analytics/pageviews?window=1h").status_code == 400


def test_loading_the_index_page_queues_a_page_view(client) -> None:
    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 200

    rows = OutboxMessage.objects.filter(topic=topics.PAGEVIEWS.name)
    assert rows.count() == 2
    viewed = decode(bytes(rows[0].value))
    assert isinstance(viewed, PageViewed)
    assert (viewed.page, bytes(rows[0].key)) == ("/", b"/")


def test_the_operations_are_in_the_openapi_schema(client) -> None:
    paths = client.get("/api/schema", {"format": "json"}).json()["paths"]

    top = paths["/api/analytics/top-products"]["get"]
    assert top["operationId"] == "analytics_top_products"
    assert {p["name"] for p in top["parameters"]} == {"window", "by", "limit"}
    assert paths["/api/analytics/pageviews"]["get"]["operationId"] == "analytics_pageviews"
