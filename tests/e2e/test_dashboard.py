"""The dashboard in a real browser (headless Debian Chromium) against the running platform:
an order placed through the form reaches COMPLETED in the live table without a reload;
consumer groups and health fill in; a staff user logs in and changes a fault setting."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.runner import Platform
from tests.e2e.browser import Browser
from tests.integration.conftest import start_platform
from tests.integration.support import eventually, http

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

# notification too: an earlier module (test_auditor_panel) leaves its group on the shared
# broker, which would otherwise lag behind this module's orders on the groups page.
SERVICES = [
    "gateway",
    "relay",
    "projector",
    "payment",
    "inventory",
    "saga",
    "notification",
    "dashboard",
]
ADMIN = {"ADMIN_USERNAME": "e2e-admin", "ADMIN_PASSWORD": "e2e-secret-pw"}
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "artifacts"
#: The screenshots docs/dashboard.md shows, refreshed by these tests.
DOCS = Path(__file__).resolve().parents[2] / "docs" / "dashboard"


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


def document(browser: Browser, name: str) -> Path:
    """A screenshot of the viewport for docs/dashboard/ (fresh on every run)."""
    return browser.screenshot(DOCS / name, full=False)


def js(value: str) -> str:
    return json.dumps(value)


def test_an_order_placed_in_the_form_completes_live(
    running: Platform, browser: Browser, tmp_path: Path
) -> None:
    browser.goto(f"{running.gateway_url}/")  # a browser at / is sent to the dashboard
    assert browser.evaluate("location.pathname") == "/dashboard/"
    eventually(
        lambda: browser.evaluate(
            "window.Live.applied !== null && document.querySelectorAll('#product option[value]')"
            ".length > 1"
        ),
        timeout=30,
        what="the live feed and the catalogue",
    )
    browser.evaluate("window.notReloaded = true")
    first = browser.evaluate("Live.applied")

    browser.type("#user-id", "browser-user")
    browser.evaluate("document.getElementById('product').selectedIndex = 1")
    browser.type("#quantity", "2")
    browser.click("#add-line")
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
    # the map's edges carry each hop's p50 of the last minute (dashboard.kpis.hop_latencies)
    hops = (
        "Object.fromEntries(Array.from(document.querySelectorAll('#map text[data-hop]'))"
        ".map(t => [t.dataset.hop, t.textContent]))"
    )
    eventually(
        lambda: all(
            re.search(r"\d+ ms$|\d\.\d s$", browser.evaluate(hops).get(hop, ""))
            for hop in ("payment", "inventory", "saga", "notice")
        ),
        timeout=15,
        what="hop latencies on the map's edges",
    )
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


def test_lag_is_zero_on_an_idle_platform(running: Platform, browser: Browser) -> None:
    """No group shows lag once the orders are decided: changelogs are restore state."""
    browser.goto(f"{running.gateway_url}/dashboard/groups")
    lags = (
        "Array.from(document.querySelectorAll('#groups .group h3'))"
        ".map(h => [h.parentNode.dataset.group, h.textContent])"
    )
    eventually(
        lambda: (
            len(browser.evaluate(lags)) >= 6
            and all(text.endswith("lag 0") for _, text in browser.evaluate(lags))
        ),
        timeout=60,
        what="every group at lag 0",
    )
    assert browser.evaluate("document.querySelectorAll('#groups td.lagging').length") == 0
    restore = "document.querySelector('#groups .group[data-group=saga] .restore')"
    assert "changelog" in browser.evaluate(f"({restore} || {{}}).textContent || ''")
    owned = "document.querySelectorAll('#groups .group[data-group=payment] td.p[data-owner=M1]')"
    assert browser.evaluate(f"{owned}.length") >= 1
    document(browser, "groups.png")


def test_the_first_screen_shows_the_system_at_work(running: Platform, browser: Browser) -> None:
    browser.viewport(1280, 800)
    try:
        browser.goto(f"{running.gateway_url}/dashboard/")
        eventually(
            lambda: browser.evaluate(
                "Live.applied !== null && document.getElementById('product').options.length > 1"
            ),
            timeout=30,
            what="the feed and the catalogue",
        )
        browser.type("#burst-count", "20")
        browser.click("#burst")
        eventually(
            lambda: (
                browser.evaluate("document.getElementById('burst-result').textContent")
                == "20 of 20 accepted"
            ),
            timeout=60,
            what="the burst",
        )
        text = "(id) => document.getElementById(id).textContent"
        eventually(
            lambda: (
                int(browser.evaluate(f"({text})('kpi-completed')") or "0")
                + int(browser.evaluate(f"({text})('kpi-cancelled')") or "0")
                >= 20
            ),
            timeout=90,
            what="the KPIs to count the decided orders",
            interval=0.5,
        )
        assert browser.evaluate(f"({text})('kpi-latency')") != "– / –"
        assert browser.evaluate(f"({text})('kpi-dlq')").isdigit()
        assert browser.evaluate(f"({text})('kpi-accepted')") != "–"
        services = (
            "Array.from(document.querySelectorAll('#map .node.svc'))"
            ".map(n => [n.dataset.node, n.getAttribute('class'), n.textContent])"
        )
        eventually(
            lambda: all(
                "up" in cls.split()
                for node, cls, _ in browser.evaluate(services)
                if node in ("gateway", "payment", "inventory", "saga", "projector")
            ),
            timeout=30,
            what="the map's services up",
        )
        figures = {node: content for node, _, content in browser.evaluate(services)}
        assert "worker" in figures["payment"] and "lag" in figures["payment"]
        # 1280×800: everything of the first screen without scrolling, nothing sideways.
        fits = (
            "document.documentElement.scrollHeight <= innerHeight + 1"
            " && document.documentElement.scrollWidth <= innerWidth"
        )
        assert browser.evaluate(fits), browser.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
        for box in ("#kpis", "#map", "#order-form", "#orders"):
            bottom = browser.evaluate(
                f"document.querySelector({js(box)}).getBoundingClientRect().top"
            )
            assert bottom < 800, box
        document(browser, "first-screen.png")
        browser.click("#orders tr:first-child")
        eventually(
            lambda: browser.evaluate("document.querySelectorAll('#map .node.lit').length") >= 4,
            timeout=15,
            what="the order's path lit on the map",
        )
        document(browser, "first-screen-order.png")
        browser.click("#timeline-close")
    finally:
        browser.viewport(1400, 1000)


def test_the_first_screen_at_a_phone_width(running: Platform, browser: Browser) -> None:
    browser.viewport(390, 844, mobile=True)
    try:
        browser.goto(f"{running.gateway_url}/dashboard/")
        eventually(lambda: browser.evaluate("Live.applied !== null"), timeout=30, what="feed")
        assert browser.evaluate("document.documentElement.scrollWidth <= innerWidth"), (
            browser.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        )
        document(browser, "first-screen-phone.png")
    finally:
        browser.viewport(1400, 1000)


def test_the_form_is_labelled_and_reachable_by_keyboard(
    running: Platform, browser: Browser
) -> None:
    browser.goto(f"{running.gateway_url}/dashboard/")
    unlabelled = (
        "Array.from(document.querySelectorAll('#order-form input, #order-form select,"
        " #burst-form input, #status-filter, #text-filter'))"
        ".filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))"
        ".map(e => e.id)"
    )
    assert browser.evaluate(unlabelled) == []
    reached = []
    browser.evaluate("document.activeElement.blur()")
    for _ in range(40):
        browser.key("Tab")
        reached.append(browser.evaluate("document.activeElement.id"))
    for wanted in ("user-id", "product", "quantity", "add-line", "place", "burst-count"):
        assert wanted in reached, reached
