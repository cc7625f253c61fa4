"""The auditor's strip in a real browser (headless Chromium) against a running platform:
it stays at zero through a burst of orders while the payment worker and the auditor are
killed and restarted, then counts a forged second charge once and links the order to
its timeline.

The platform of this module has the auditor, the notification worker and the dashboard's
monitor; the auditor is a consumer group of its own that starts at the end of the shared
broker's topics (earlier modules' orders are not its business).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts import encode
from contracts.testing import payment_authorized
from harness.runner import Platform
from tests.e2e.browser import Browser
from tests.integration.conftest import audited_platform
from tests.integration.support import http, produce
from tests.support.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

SERVICES = [
    "gateway",
    "relay",
    "projector",
    "payment",
    "inventory",
    "saga",
    "notification",
    "auditor",
    "dashboard",
]
GROUP = f"auditor-e2e-{uuid.uuid4().hex[:8]}"
BURST = 30
ZERO = "0 lost · 0 double-charged · 0 oversold · 0 duplicate notices · 0 overdue"
#: The screenshots docs/dashboard.md shows, refreshed by this test.
DOCS = Path(__file__).resolve().parents[2] / "docs" / "dashboard"


@pytest.fixture(scope="module")
def running(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    settings = {
        "AUDITOR_GROUP": GROUP,
        "AUDITOR_GRACE_SECONDS": "15",
        "AUDITOR_INTERVAL_SECONDS": "0.5",
    }
    folder = tmp_path_factory.mktemp("audit-e2e")
    with audited_platform(stack_env, folder, SERVICES, redis_db=14, settings=settings) as platform:
        yield platform


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser() as chromium:
        yield chromium


def text(browser: Browser, element: str) -> str:
    return str(browser.evaluate(f"document.getElementById({json.dumps(element)}).textContent"))


def test_the_auditor_stays_at_zero_through_kills_and_counts_a_forged_charge(
    running: Platform, browser: Browser
) -> None:
    browser.viewport(1280, 800)
    browser.goto(f"{running.gateway_url}/dashboard/")
    eventually(
        lambda: browser.evaluate(
            "Live.applied !== null && document.getElementById('product').options.length > 1"
        ),
        timeout=30,
        what="the feed and the catalogue",
    )
    eventually(
        lambda: text(browser, "audit-line") == ZERO,
        timeout=60,
        what="the auditor's first summary",
    )
    # Every line the strip shows from now on, to find any false alarm in between.
    browser.evaluate(
        "window.auditLines = new Set();"
        "new MutationObserver(() => window.auditLines.add("
        "document.getElementById('audit-line').textContent))"
        ".observe(document.getElementById('audit'), {subtree: true, childList: true,"
        " characterData: true})"
    )

    browser.type("#burst-count", str(BURST))
    browser.click("#burst")
    eventually(
        lambda: int(text(browser, "burst-result").split(" ")[0] or "0") >= BURST // 3,
        timeout=60,
        what="a third of the burst",
    )
    for name in ("payment", "auditor"):  # crashes in the middle of the burst
        running.supervisor.kill(name)
    for name in ("payment", "auditor"):
        running.supervisor.start(name)
        running.wait_ready(name)
    eventually(
        lambda: text(browser, "burst-result") == f"{BURST} of {BURST} accepted",
        timeout=90,
        what="the burst",
    )
    settled = f"{BURST} orders audited · 0 settling"
    try:
        eventually(
            lambda: text(browser, "audit-note").startswith(settled),
            timeout=150,
            what=f"the strip to say {settled!r}",
            interval=0.5,
        )
    except AssertionError as exc:
        said = (text(browser, "audit-line"), text(browser, "audit-note"))
        raise AssertionError(f"{exc}; the strip says {said}") from None

    assert text(browser, "audit-line") == ZERO
    seen = browser.evaluate("Array.from(window.auditLines)")
    alarms = [line for line in seen if re.search(r"(^|· )[1-9]", line)]
    assert not alarms, f"the strip showed {alarms} during the run"
    assert browser.evaluate("document.getElementById('audit-details').hidden") is True
    browser.screenshot(DOCS / "auditor.png", full=False)

    status, _, page = http("GET", f"{running.gateway_url}/api/orders?status=COMPLETED&limit=1")
    assert status == 200, page
    [completed] = page["results"]
    forged = payment_authorized(completed["orderId"], amount=str(completed["amount"]))
    bootstrap = running.env["KAFKA_BOOTSTRAP_SERVERS"]
    for _ in range(2):
        produce(bootstrap, "payments.v1", completed["orderId"].encode(), encode(forged))
    eventually(
        lambda: "1 double-charged" in text(browser, "audit-line"),
        timeout=30,
        what="the forged charge on the strip",
    )
    assert text(browser, "audit-line").startswith("0 lost · 1 double-charged · 0 oversold")
    assert browser.evaluate("document.getElementById('audit').classList.contains('alert')")
    links = browser.evaluate(
        "Array.from(document.querySelectorAll('#audit-list a')).map(a => a.textContent)"
    )
    assert links == [completed["orderId"]]
    browser.evaluate("document.getElementById('audit-details').open = true")
    browser.screenshot(DOCS / "auditor-violation.png", full=False)
    browser.click("#audit-list a")
    eventually(
        lambda: (
            text(browser, "timeline-id") == completed["orderId"]
            and not browser.evaluate("document.getElementById('timeline').hidden")
        ),
        timeout=15,
        what="the order's timeline from the strip's link",
    )
