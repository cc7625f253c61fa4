"""The dashboard's pages (templates; the data comes over REST and the WebSocket) and the
monitor's latest status as a snapshot for pages that just loaded."""

from __future__ import annotations

import json
import logging
import time

import redis
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from dashboard import chaos, history
from dashboard.status import STATUS_KEY
from gateway.analytics.services import page_view_record
from gateway.throttles import page_view_due

log = logging.getLogger(__name__)

#: (path name, title) of the navigation, in order.
PAGES = [
    ("dashboard-orders", "Orders"),
    ("dashboard-top-products", "Top products"),
    ("dashboard-groups", "Consumer groups"),
    ("dashboard-health", "Health"),
    ("dashboard-ops", "Operations"),
]


def _page(request: HttpRequest, template: str, title: str) -> HttpResponse:
    """Render a page; each load is a page view for analytics (never fails the page), up
    to the ``page_views`` rate per client IP."""
    try:
        if page_view_due(request):
            page_view_record(page=request.path)
    except Exception:
        log.exception("dashboard: the page view of %s was not recorded", request.path)
    return render(request, f"dashboard/{template}", {"title": title, "pages": PAGES})


@ensure_csrf_cookie  # staff's chaos controls post with it
def orders(request: HttpRequest) -> HttpResponse:
    return _page(request, "orders.html", "Orders")


def top_products(request: HttpRequest) -> HttpResponse:
    return _page(request, "top_products.html", "Top products")


def groups(request: HttpRequest) -> HttpResponse:
    return _page(request, "groups.html", "Consumer groups")


def health(request: HttpRequest) -> HttpResponse:
    return _page(request, "health.html", "Health")


@ensure_csrf_cookie
def ops(request: HttpRequest) -> HttpResponse:
    """Staff only: anyone else is sent to the login page (the APIs it calls check too)."""
    if not (request.user.is_authenticated and request.user.is_staff):
        return redirect_to_login(request.get_full_path(), "/login")
    return _page(request, "ops.html", "Operations")


def status(request: HttpRequest) -> JsonResponse:
    """`GET /api/dashboard/status`: the monitor's latest groups and health (``null``
    when the monitor has not reported in the last 30 s)."""
    try:
        client = redis.Redis.from_url(
            settings.PLATFORM.redis_url, socket_timeout=2, socket_connect_timeout=2
        )
        try:
            raw = client.get(STATUS_KEY)
        finally:
            client.close()
    except redis.RedisError as exc:
        return JsonResponse({"status": None, "error": f"{type(exc).__name__}: {exc}"[:200]})
    return JsonResponse({"status": json.loads(raw) if raw else None, "error": None})


def history_view(request: HttpRequest) -> JsonResponse:
    """`GET /api/dashboard/history`: the charts' samples of the last five minutes and the
    chaos actions among them (`dashboard.history`, `dashboard.chaos`); empty lists when
    Redis does not answer (``error`` says why)."""
    now = time.time()
    try:
        client = redis.Redis.from_url(
            settings.PLATFORM.redis_url, socket_timeout=2, socket_connect_timeout=2
        )
        try:
            samples = history.recent(client, now)
            actions = chaos.recent(client, now, history.WINDOW_S)
        finally:
            client.close()
    except redis.RedisError as exc:
        return JsonResponse(
            {
                "windowS": history.WINDOW_S,
                "samples": [],
                "actions": [],
                "error": f"{type(exc).__name__}: {exc}"[:200],
            }
        )
    body = {"windowS": history.WINDOW_S, "samples": samples, "actions": actions, "error": None}
    return JsonResponse(body)
