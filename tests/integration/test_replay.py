"""`sagactl replay` on the running platform: the notification and projector groups reset to
earliest (their local workers stopped and restarted through the control socket, the read
model wiped) rebuild an identical read model and send no second notification."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from harness.runner import ROOT, Platform
from tests.integration.conftest import controlled_platform
from tests.integration.ledger import collect
from tests.integration.support import caught_up, eventually, http

pytestmark = pytest.mark.integration

SERVICES = ["gateway", "relay", "projector", "payment", "inventory", "saga", "notification"]
PROJECTED = ["orders.v1", "payments.v1", "inventory.v1", "orders.outcome.v1", "notifications.v1"]


@pytest.fixture(scope="module")
def running(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Platform, Path]]:
    tmp = tmp_path_factory.mktemp("replay")
    with controlled_platform(stack_env, tmp, SERVICES, redis_db=9) as running:
        yield running


def sagactl(platform: Platform, sock: Path, *args: str) -> str:
    """Run the real command line against this platform; return its output."""
    env = {**os.environ, **platform.env, "SAGACTL_CONTROL": str(sock)}
    done = subprocess.run(
        [sys.executable, "-m", "sagactl", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def order(platform: Platform, order_id: str) -> dict[str, Any]:
    return dict(http("GET", f"{platform.gateway_url}/api/orders/{order_id}")[2])


def picture(platform: Platform, order_ids: list[str]) -> dict[str, Any]:
    """The read model of these orders, without the projector's own bookkeeping times."""
    views = {}
    for order_id in order_ids:
        view = order(platform, order_id)
        view.pop("updatedAt")
        for entry in view.get("timeline", []):
            entry.pop("recordedAt", None)
        views[order_id] = view
    return views


def idle(platform: Platform, group: str, topics: list[str]) -> None:
    caught_up(platform.env["KAFKA_BOOTSTRAP_SERVERS"], group, topics, timeout=120)


def test_replaying_notification_and_projector_rebuilds_the_same_read_model(
    running: tuple[Platform, Path],
) -> None:
    platform, sock = running
    _, _, products = eventually(
        lambda: (r := http("GET", f"{platform.gateway_url}/api/products"))[2] and r,
        timeout=60,
        what="the seeded catalogue",
    )
    product = max(products, key=lambda p: p["available"])

    def place(n: int) -> str:
        body = {
            "orderId": f"replay-{uuid.uuid4()}",
            "userId": "user-blocked" if n % 10 == 0 else f"user-{n % 7}",
            "items": [{"productId": product["productId"], "quantity": 1,
                       "price": product["price"]}],
        }  # fmt: skip
        status, _, answer = http("POST", f"{platform.gateway_url}/api/orders", body)
        assert status == 202, answer
        return str(body["orderId"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        order_ids = list(pool.map(place, range(60)))
    eventually(
        lambda: all(order(platform, o)["notification"]["status"] for o in order_ids),
        timeout=120,
        what="every order notified",
        interval=0.5,
    )
    idle(platform, "notification", ["orders.outcome.v1"])
    idle(platform, "projector", PROJECTED)
    before = picture(platform, order_ids)
    bootstrap = platform.env["KAFKA_BOOTSTRAP_SERVERS"]
    notices_before = {e for e in collect(bootstrap).event_ids if e.startswith("notifications.v1/")}

    dry = sagactl(platform, sock, "replay", "-g", "notification", "--to-earliest")
    assert "dry run: nothing changed" in dry and "has 1 live member" in dry, dry
    out = sagactl(
        platform, sock, "replay", "-g", "notification", "--to-earliest", "--execute",
        "--stop-local",
    )  # fmt: skip
    assert "stopped notification" in out and "started (ready)" in out, out
    out = sagactl(platform, sock, "replay", "--rebuild-read-model", "--execute", "--stop-local")
    assert "read model wiped" in out and "stopped projector" in out, out

    idle(platform, "notification", ["orders.outcome.v1"])
    idle(platform, "projector", PROJECTED)
    eventually(
        lambda: picture(platform, order_ids) == before,
        timeout=60,
        what="the rebuilt read model to equal the one before",
        interval=1.0,
    )
    after = {e for e in collect(bootstrap).event_ids if e.startswith("notifications.v1/")}
    assert after == notices_before, f"{len(after - notices_before)} new notifications"
    assert sum(v["status"] == "CANCELLED" for v in before.values()) >= 6  # declines too
