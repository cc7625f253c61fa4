"""The pages: served to anyone read-only, operations only to staff; no CDN."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db

PAGES = ["/dashboard/", "/dashboard/top-products", "/dashboard/groups", "/dashboard/health"]


@pytest.mark.parametrize("path", PAGES)
def test_each_page_is_served_with_local_assets_only(client, path) -> None:
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/dashboard/live.js" in html
    assert "http://" not in html and "https://" not in html and "//cdn" not in html


def test_a_browser_at_the_root_goes_to_the_dashboard_and_scripts_still_get_json(client) -> None:
    assert client.get("/", HTTP_ACCEPT="text/html,*/*").headers["Location"] == "/dashboard/"
    assert client.get("/").json()["links"]["dashboard"] == "/dashboard/"


def test_operations_need_a_staff_login(client) -> None:
    assert client.get("/dashboard/ops").headers["Location"].startswith("/login")
    User.objects.create_user("viewer", password="pw")
    client.login(username="viewer", password="pw")
    assert client.get("/dashboard/ops").status_code == 302
    User.objects.create_user("boss", password="pw", is_staff=True)
    client.login(username="boss", password="pw")
    page = client.get("/dashboard/ops")
    assert page.status_code == 200 and "csrftoken" in page.cookies


def test_the_login_page_logs_a_staff_user_in(client) -> None:
    User.objects.create_user("boss", password="pw", is_staff=True)
    client.get("/login")
    response = client.post("/login", {"username": "boss", "password": "pw"})
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard/ops"


def test_staff_apis_refuse_a_session_post_without_csrf(client) -> None:
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    User.objects.create_user("boss", password="pw", is_staff=True)
    csrf_client.login(username="boss", password="pw")
    response = csrf_client.put(
        "/api/ops/faults/payment", data="{}", content_type="application/json"
    )
    assert response.status_code == 403
