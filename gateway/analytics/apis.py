"""HTTP API of analytics: the latest window snapshots, as analytics last published them;
and the index (`/`), whose loads are page views."""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gateway.analytics.models import WindowSnapshot
from gateway.analytics.selectors import snapshot_latest
from gateway.analytics.services import page_view_record
from gateway.throttles import page_view_due, throttled

log = logging.getLogger(__name__)

#: ``?window=`` values and the window kinds they name.
WINDOWS = {"1m": "tumbling_1m", "5m": "hopping_5m"}
RANKINGS = ("units", "revenue")


class WindowInput(serializers.Serializer[Any]):
    window = serializers.ChoiceField(choices=list(WINDOWS), default="1m")


def _window(snapshot: WindowSnapshot | None) -> dict[str, Any] | None:
    if snapshot is None:
        return None
    return {
        "kind": snapshot.kind,
        "start": snapshot.window_start.isoformat().replace("+00:00", "Z"),
        "end": snapshot.window_end.isoformat().replace("+00:00", "Z"),
        "publishedAt": snapshot.published_at.isoformat().replace("+00:00", "Z"),
        "lateEvents": snapshot.late_events,
    }


def _ranked(stats: list[dict[str, Any]], by: str, limit: int) -> list[dict[str, Any]]:
    def key(s: dict[str, Any]) -> tuple[Any, ...]:
        units, revenue = int(s["units"]), float(s["revenue"])
        first, second = (units, revenue) if by == "units" else (revenue, units)
        return (-first, -second, s["productId"])

    return [
        {"productId": s["productId"], "units": s["units"], "revenue": s["revenue"]}
        for s in sorted(stats, key=key)[:limit]
    ]


_WINDOW_PARAM = OpenApiParameter(
    "window",
    str,
    enum=list(WINDOWS),
    description="`1m`: the tumbling minute; `5m`: the five minutes ending with it "
    "(hopping, advancing every minute). Default `1m`.",
)


class TopProductsApi(APIView):
    """`GET /api/analytics/top-products`: the newest window's top products, by demand
    (ordered) and by sales (completed orders), ranked by units or revenue."""

    class InputSerializer(WindowInput):
        by = serializers.ChoiceField(choices=list(RANKINGS), default="units")
        limit = serializers.IntegerField(min_value=1, max_value=100, default=10)

    @extend_schema(
        operation_id="analytics_top_products",
        summary="Top products of the newest window",
        description="From the latest `TopProductsUpdated` of the window kind (event time). "
        "A snapshot holds the top `ANALYTICS_TOP_N` products by units and by revenue, so "
        "`limit` above it may list fewer. `window` is null before the first snapshot.",
        parameters=[
            _WINDOW_PARAM,
            OpenApiParameter("by", str, enum=list(RANKINGS), description="Default `units`."),
            OpenApiParameter("limit", int, description="1-100, default 10."),
        ],
        responses={200: dict, 400: dict},
    )
    def get(self, request: Request) -> Response:
        given = self.InputSerializer(data=request.query_params)
        given.is_valid(raise_exception=True)
        by, limit = given.validated_data["by"], given.validated_data["limit"]
        snapshot = snapshot_latest(kind=WINDOWS[given.validated_data["window"]])
        return Response(
            {
                "window": _window(snapshot),
                "by": by,
                "demand": _ranked(snapshot.demand, by, limit) if snapshot else [],
                "sales": _ranked(snapshot.sales, by, limit) if snapshot else [],
            }
        )


class PageViewsApi(APIView):
    """`GET /api/analytics/pageviews`: the newest window's most viewed pages."""

    @extend_schema(
        operation_id="analytics_pageviews",
        summary="Page views of the newest window",
        description="Views per page from the latest `TopProductsUpdated` of the window "
        "kind (page loads of `/` publish `PageViewed`). `window` is null before the first "
        "snapshot.",
        parameters=[_WINDOW_PARAM],
        responses={200: dict, 400: dict},
    )
    def get(self, request: Request) -> Response:
        given = WindowInput(data=request.query_params)
        given.is_valid(raise_exception=True)
        snapshot = snapshot_latest(kind=WINDOWS[given.validated_data["window"]])
        return Response(
            {
                "window": _window(snapshot),
                "pages": [{"page": p["page"], "views": p["views"]} for p in snapshot.pageviews]
                if snapshot
                else [],
            }
        )


@throttled("public")
def index(request: HttpRequest) -> HttpResponse:
    """`/`: a browser (it accepts HTML) goes to the live dashboard; anything else gets
    where things are, as JSON. Each JSON load is a page view for analytics
    (``PageViewed`` through the outbox; the dashboard's pages record their own), up to the
    ``page_views`` rate per client IP (``gateway.throttles``); failing to record one is
    logged and never fails the page."""
    if "text/html" in request.headers.get("Accept", ""):
        return HttpResponseRedirect("/dashboard/")
    try:
        if page_view_due(request):
            page_view_record(page=request.path)
    except Exception:
        log.exception("index: the page view of %s was not recorded", request.path)
    return JsonResponse(
        {
            "name": "choreography-saga order platform",
            "links": {
                "orders": "/api/orders",
                "products": "/api/products",
                "topProducts": "/api/analytics/top-products",
                "pageviews": "/api/analytics/pageviews",
                "dashboard": "/dashboard/",
                "docs": "/api/docs",
                "schema": "/api/schema",
                "health": "/health",
                "ready": "/ready",
            },
        }
    )
