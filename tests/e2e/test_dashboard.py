"""The dashboard in a real browser (headless Debian Chromium) against the running platform:
an order placed through the form reaches COMPLETED in the live table without a reload;
consumer groups and health fill in; a staff user logs in and changes a fault setting."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.runner import Platform
from tests.e2e.browser import Browser
from tests.integration.conftest import start_platform
from tests.integration.support import eventually, http

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

SERVICES = ["gateway", "relay", "projector", "payment", "inventory", "saga", "dashboard"]
ADMIN = {"ADMIN_USERNAME": "e2e-admin", "ADMIN_PASSWORD": "e2e-secret-pw"}
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "artifacts"


@pytest.fixture(scope="module")
def running(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    platform = start_platform(
        {**stack_env, **ADMIN}, tmp_path_factory.mktemp("dashboard"), SERVICES, redis_db=7
    )
    try:
        yield platform
    finally:
        platform.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser() as chromium:
        yield chromium


def keep(browser: Browser, tmp_path: Path, name: str) -> Path:
    """A screenshot in the test's tmp dir, copied to var/artifacts/ for people and CI."""
    shot = browser.screenshot(tmp_path / name)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, ARTIFACTS / name)
    return shot


def js(value: str) -> str:
    return json.dumps(value)


def test_an_order_placed_in_the_form_completes_live(
    running: Platform, browser: Browser, tmp_path: Path
) -> None:
    browser.goto(f"{running.gateway_url}/")  # a browser at / is sent to the dashboard
    assert browser.evaluate("location.pathname") == "/dashboard/"
    eventually(
        lambda: browser.evaluate(
            "window.Live.applied !== null && document.querySelectorAll('#catalogue .qty').length"
        ),
        timeout=30,
        what="the live feed and the catalogue",
    )
    browser.evaluate("window.notReloaded = true")
    first = browser.evaluate("Live.applied")

    browser.type("#user-id", "browser-user")
    browser.type("#catalogue tr:nth-child(2) .qty", "2")
    browser.click("#place")
    accepted = eventually(
        lambda: browser.evaluate(
            "(document.getElementById('order-result').textContent.match(/^accepted (\\S+)/)"
            " || [])[1]"
        ),
        timeout=15,
        what="the order to be accepted",
    )
    row = f"#orders tr[data-order-id={js(accepted)}] td.status"
    eventually(
        lambda: (
            browser.evaluate(f"(document.querySelector({js(row)}) || {{}}).textContent")
            == "COMPLETED"
        ),
        timeout=60,
        what=f"order {accepted} to show COMPLETED",
        interval=0.2,
    )

    assert browser.evaluate("window.notReloaded") is True
    assert browser.evaluate("Live.applied") > first  # it came over the WebSocket
    browser.click(f"#orders tr[data-order-id={js(accepted)}]")
    eventually(
        lambda: browser.evaluate("document.querySelectorAll('#timeline-rows tr').length") >= 4,
        timeout=10,
        what="the timeline",
    )
    events = browser.evaluate(
        "Array.from(document.querySelectorAll('#timeline-rows tr td:first-child'))"
        ".map(td => td.textContent)"
    )
    assert {"order.placed.v1", "order.completed.v1"} <= set(events)
    assert keep(browser, tmp_path, "dashboard-orders.png").stat().st_size > 10_000


def test_consumer_groups_and_health_fill_in(running: Platform, browser: Browser, tmp_path: Path):
    browser.goto(f"{running.gateway_url}/dashboard/groups")
    groups = "Array.from(document.querySelectorAll('#groups .group')).map(g => g.dataset.group)"
    eventually(
        lambda: {"payment", "inventory", "saga", "projector"} <= set(browser.evaluate(groups)),
        timeout=30,
        what="the consumer groups",
    )
    members = "document.querySelectorAll('#groups .group[data-group=payment] .members li').length"
    assert browser.evaluate(members) >= 1
    keep(browser, tmp_path, "dashboard-groups.png")

    browser.goto(f"{running.gateway_url}/dashboard/health")
    state = (
        "(n) => (document.querySelector(`#health .card[data-name=${n}] .state`) || {}).textContent"
    )
    eventually(
        lambda: all(
            browser.evaluate(f"({state})({js(name)})") == "up"
            for name in ("gateway", "relay", "payment", "kafka", "database", "redis")
        ),
        timeout=30,
        what="every service and the infrastructure up",
    )
    keep(browser, tmp_path, "dashboard-health.png")


def test_staff_log_in_and_change_a_fault_setting(
    running: Platform, browser: Browser, tmp_path: Path
) -> None:
    url = running.gateway_url
    browser.goto(f"{url}/dashboard/ops")
    assert browser.evaluate("location.pathname") == "/login"
    browser.type("input[name=username]", ADMIN["ADMIN_USERNAME"])
    browser.type("input[name=password]", ADMIN["ADMIN_PASSWORD"])
    browser.click("button[type=submit]")
    rate = "#faults tr[data-service=payment] td:nth-child(2) input"
    eventually(
        lambda: browser.evaluate(
            f"location.pathname === '/dashboard/ops' && !!document.querySelector({js(rate)})"
        ),
        timeout=15,
        what="the operations page after login",
    )
    browser.type(rate, "0.25")
    browser.click("#faults tr[data-service=payment] button")  # "apply": a session PUT + CSRF
    auth = {"Authorization": "Basic ZTJlLWFkbWluOmUyZS1zZWNyZXQtcHc="}  # e2e-admin:e2e-secret-pw

    def rate_now() -> float:
        status, _, body = http("GET", f"{url}/api/ops/faults", **auth)
        assert status == 200, body
        return float(body["payment"]["failureRate"])

    eventually(lambda: rate_now() == 0.25, timeout=10, what="the new failure rate")
    keep(browser, tmp_path, "dashboard-ops.png")
    status, _, _ = http("PUT", f"{url}/api/ops/faults/payment", {}, **auth)
    assert status == 200
