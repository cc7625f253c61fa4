"""The charts and the chaos controls in a real browser (headless Debian Chromium) against
a platform with a control socket, as `sagactl run` has: the charts draw live numbers after
orders; a staff user kills a worker from the controls, the map shows it red and then back
once the supervisor restarted it, and the kill is marked on the charts and the map; the
controls are labelled and reachable by keyboard."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.control import ControlServer, request
from harness.runner import Platform
from tests.e2e.browser import Browser
from tests.integration.conftest import start_platform
from tests.integration.support import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

SERVICES = ["gateway", "relay", "projector", "payment", "inventory", "saga", "dashboard"]
ADMIN = {"ADMIN_USERNAME": "e2e-chaos", "ADMIN_PASSWORD": "e2e-chaos-pw"}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "dashboard"


@pytest.fixture(scope="module")
def controlled(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Platform, Path]]:
    with tempfile.TemporaryDirectory(prefix="ctl") as folder:  # short: a Unix socket path
        sock = Path(folder) / "control.sock"
        env = {**stack_env, **ADMIN, "SAGACTL_CONTROL": str(sock)}
        platform = start_platform(env, tmp_path_factory.mktemp("chaos"), SERVICES, redis_db=8)
        try:
            with ControlServer(platform, sock):
                yield platform, sock
        finally:
            platform.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser(1280, 800) as chromium:
        chromium.viewport(1280, 800)
        yield chromium


def js(value: str) -> str:
    return json.dumps(value)


def text(browser: Browser, selector: str) -> str:
    return str(browser.evaluate(f"(document.querySelector({js(selector)}) || {{}}).textContent"))


def node_class(browser: Browser, node: str) -> list[str]:
    found = browser.evaluate(
        f"(document.querySelector('#map .node[data-node={node}]') || {{getAttribute: () => ''}})"
        ".getAttribute('class')"
    )
    return str(found or "").split()


def press_enter(browser: Browser) -> None:
    """Enter as a keyboard types it (with its character: what activates a button)."""
    for kind in ("keyDown", "keyUp"):
        extra = {"text": "\r"} if kind == "keyDown" else {}
        browser.send(
            "Input.dispatchKeyEvent",
            type=kind,
            key="Enter",
            code="Enter",
            windowsVirtualKeyCode=13,
            **extra,
        )


def log_in(browser: Browser, url: str) -> None:
    browser.goto(f"{url}/login")
    browser.type("input[name=username]", ADMIN["ADMIN_USERNAME"])
    browser.type("input[name=password]", ADMIN["ADMIN_PASSWORD"])
    browser.click("button[type=submit]")
    eventually(
        lambda: browser.evaluate("location.pathname") == "/dashboard/ops",
        timeout=15,
        what="the login",
    )


def test_the_charts_draw_live_numbers_after_orders(
    controlled: tuple[Platform, Path], browser: Browser
) -> None:
    platform, _ = controlled
    browser.goto(f"{platform.gateway_url}/dashboard/")
    assert browser.evaluate("document.getElementById('chaos')") is None  # staff only
    eventually(
        lambda: browser.evaluate(
            "Live.applied !== null && document.getElementById('product').options.length > 1"
        ),
        timeout=30,
        what="the feed and the catalogue",
    )
    browser.type("#burst-count", "30")
    browser.click("#burst")
    eventually(
        lambda: text(browser, "#burst-result") == "30 of 30 accepted",
        timeout=60,
        what="the burst",
    )
    seen: list[str] = []

    def throughput_shown() -> bool:
        seen.append(text(browser, "#trend-accepted"))
        return seen[-1] not in ("–", "0.0") and float(seen[-1]) > 0

    eventually(throughput_shown, timeout=30, what="a non-zero accepted rate", interval=0.3)
    eventually(
        lambda: (
            text(browser, "#trend-p50").endswith(("ms", " s"))
            and text(browser, "#trend-p99").endswith(("ms", " s"))
        ),
        timeout=60,
        what="the latency percentiles",
    )
    assert float(text(browser, "#trend-decided")) >= 0
    print(  # the figures, for the record (pytest -s)
        f"charts: accepted {seen[-1]}/s, decided {text(browser, '#trend-decided')}/s,"
        f" p50 {text(browser, '#trend-p50')}, p99 {text(browser, '#trend-p99')}"
    )
    # Lines are drawn (an "L" after the first point), the lag legend names the groups.
    drawn = "(id, cls) => document.querySelector(`#${id} path.${cls}`).getAttribute('d')"
    eventually(
        lambda: (
            " L" in browser.evaluate(f"({drawn})('trend-throughput', 'accepted')")
            and " L" in browser.evaluate(f"({drawn})('trend-latency', 'p99')")
        ),
        timeout=30,
        what="the throughput and latency lines",
    )
    groups = browser.evaluate(
        "Array.from(document.querySelectorAll('#trend-lag-now .key')).map(k => k.dataset.group)"
    )
    assert {"payment", "inventory", "saga", "projector"} <= set(groups), groups
    assert browser.evaluate("document.querySelectorAll('#trend-lag path.lag').length") >= 4
    samples = int(browser.evaluate("document.getElementById('trends').dataset.samples"))
    assert samples >= 3
    # A reloaded page gets the last minutes at once from the server's ring.
    browser.goto(f"{platform.gateway_url}/dashboard/")
    eventually(
        lambda: (
            int(browser.evaluate("document.getElementById('trends').dataset.samples") or 0)
            >= samples
        ),
        timeout=10,
        what="the history after a reload",
    )
    # 1280×800: the charts are on the first screen, nothing scrolls.
    assert (
        browser.evaluate("document.getElementById('trends').getBoundingClientRect().bottom") <= 800
    )
    assert browser.evaluate("document.documentElement.scrollHeight <= innerHeight + 1")


def test_a_worker_killed_from_the_controls_goes_red_and_comes_back(
    controlled: tuple[Platform, Path], browser: Browser
) -> None:
    platform, sock = controlled
    log_in(browser, platform.gateway_url)
    browser.goto(f"{platform.gateway_url}/dashboard/")
    eventually(
        lambda: (
            "up" in node_class(browser, "payment")
            and browser.evaluate(
                "Array.from(document.getElementById('chaos-process').options).map(o => o.value)"
            ).count("payment")
            == 1
        ),
        timeout=60,
        what="payment up and offered by the controls",
    )
    offered = browser.evaluate(
        "Array.from(document.getElementById('chaos-process').options).map(o => o.value)"
    )
    assert "gateway" not in offered  # the page's own server is not offered
    before = {p["name"]: p for p in request(sock, {"op": "status"})["processes"]}["payment"]
    browser.evaluate("document.getElementById('chaos-process').value = 'payment'")
    browser.click("#chaos-kill")
    clicked = time.monotonic()
    eventually(
        lambda: text(browser, "#chaos-result").startswith("killed payment"),
        timeout=15,
        what="the kill to be done",
    )
    states: list[list[str]] = []

    def red() -> bool:
        states.append(node_class(browser, "payment"))
        return "down" in states[-1]

    eventually(red, timeout=20, what="payment red on the map", interval=0.1)
    red_after = time.monotonic() - clicked
    assert "kill" in text(browser, "#map .node[data-node=payment] text.mark")
    eventually(
        lambda: (
            browser.evaluate("document.querySelectorAll('#trend-throughput .marker.kill').length")
            >= 1
        ),
        timeout=10,
        what="the kill marked on the charts",
    )
    DOCS.mkdir(parents=True, exist_ok=True)
    browser.screenshot(DOCS / "first-screen-chaos.png", full=False)

    after = {}

    def back() -> bool:
        nonlocal after
        after = {p["name"]: p for p in request(sock, {"op": "status"})["processes"]}["payment"]
        return after["ready"] and "up" in node_class(browser, "payment")

    eventually(back, timeout=90, what="payment restarted and up again", interval=0.3)
    assert after["pid"] != before["pid"] and after["restarts"] == before["restarts"] + 1
    print(
        f"kill: payment red {red_after:.1f} s after the click, up again"
        f" {time.monotonic() - clicked:.1f} s after it (pid {before['pid']} -> {after['pid']})"
    )


def test_the_controls_are_labelled_and_reachable_by_keyboard(
    controlled: tuple[Platform, Path], browser: Browser
) -> None:
    platform, _ = controlled
    browser.goto(f"{platform.gateway_url}/dashboard/")  # logged in by the test before
    eventually(
        lambda: browser.evaluate("!!document.getElementById('chaos')"), timeout=10, what="controls"
    )
    unlabelled = (
        "Array.from(document.querySelectorAll('#chaos select, #chaos input'))"
        ".filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))"
        ".map(e => e.id)"
    )
    assert browser.evaluate(unlabelled) == []
    nameless = (
        "Array.from(document.querySelectorAll('#chaos button'))"
        ".filter(b => !b.textContent.trim()).map(b => b.id)"
    )
    assert browser.evaluate(nameless) == []
    assert browser.evaluate("document.getElementById('trends').getAttribute('aria-label')")
    labels = "Array.from(document.querySelectorAll('#trends svg')).map(s => s.ariaLabel)"
    assert all(browser.evaluate(labels))
    eventually(
        lambda: not browser.evaluate("document.getElementById('chaos-kill').disabled"),
        timeout=15,
        what="the controls enabled by the first status",
    )
    reached = []
    browser.evaluate("document.activeElement.blur()")
    for _ in range(30):
        browser.key("Tab")
        reached.append(browser.evaluate("document.activeElement.id"))
    wanted = ["chaos-process", "chaos-kill", "chaos-restart", "chaos-service", "chaos-pause"]
    wanted += ["chaos-resume", "chaos-count", "chaos-scale"]
    assert [r for r in reached if r in wanted] == wanted, reached
    # Enter on a focused control acts: pause and resume payment by keyboard.
    browser.evaluate("document.getElementById('chaos-service').value = 'payment'")
    browser.evaluate("document.getElementById('chaos-pause').focus()")
    press_enter(browser)
    eventually(lambda: text(browser, "#chaos-result") == "paused payment", timeout=15, what="pause")
    eventually(lambda: "down" in node_class(browser, "payment"), timeout=15, what="paused red")
    browser.evaluate("document.getElementById('chaos-resume').focus()")
    press_enter(browser)
    eventually(
        lambda: text(browser, "#chaos-result") == "resumed payment", timeout=15, what="resume"
    )
    eventually(lambda: "up" in node_class(browser, "payment"), timeout=90, what="payment back")


def test_a_group_scaled_up_and_down_from_the_controls(
    controlled: tuple[Platform, Path], browser: Browser
) -> None:
    platform, _ = controlled
    browser.goto(f"{platform.gateway_url}/dashboard/")  # still logged in as staff
    eventually(
        lambda: not browser.evaluate("document.getElementById('chaos-scale').disabled"),
        timeout=15,
        what="the controls enabled",
    )
    figures = "document.querySelector('#map .node[data-node=payment] text.figures').textContent"
    owners = (
        "new Set(Array.from(document.querySelectorAll("
        "'#groups .group[data-group=payment] tr')).filter(r => r.firstChild.textContent === "
        "'orders.v1').flatMap(r => Array.from(r.querySelectorAll('td')).map(c => "
        "c.dataset.owner)).filter(o => o)).size"
    )
    for count, started in ((2, "started payment.2"), (1, "stopped payment.2")):
        browser.evaluate("document.getElementById('chaos-service').value = 'payment'")
        browser.type("#chaos-count", str(count))
        browser.click("#chaos-scale")
        eventually(
            lambda count=count: text(browser, "#chaos-result").startswith(
                f"scaled payment to {count}"
            ),
            timeout=120,
            what=f"payment scaled to {count}",
        )
        assert started in text(browser, "#chaos-result")
        workers = f"{count} worker" + ("s" if count > 1 else "")
        eventually(
            lambda workers=workers: browser.evaluate(figures).startswith(workers),
            timeout=60,
            what=f"the map showing {workers}",
        )
        # The rebalance on the groups page: orders.v1's partitions coloured by as many
        # owners as the group has members.
        browser.goto(f"{platform.gateway_url}/dashboard/groups")
        eventually(
            lambda count=count: browser.evaluate(owners) == count,
            timeout=60,
            what=f"orders.v1 shared by {count} payment members on the grid",
        )
        browser.goto(f"{platform.gateway_url}/dashboard/")
        eventually(
            lambda: not browser.evaluate("document.getElementById('chaos-scale').disabled"),
            timeout=15,
            what="the controls enabled again",
        )
    assert [p for p in platform.running_names() if p.startswith("payment")] == ["payment"]
    marks = (
        "Array.from(document.querySelectorAll('#trend-lag .marker text')).map(t => t.textContent)"
    )
    assert {"scale payment → 2", "scale payment → 1"} <= set(browser.evaluate(marks))
