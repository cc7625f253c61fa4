"""Screenshots of the dashboard for the README, taken from the running platform:
``python -m tests.e2e.screenshots docs/dashboard`` (inside ``sagactl stack --``).

Starts every service on a fresh database, places a burst of orders through the page,
photographs each page, then stops the payment worker and reports how long the health
and consumer-group pages take to show it.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from tests.e2e.browser import Browser
from tests.integration.conftest import start_platform
from tests.integration.support import eventually

ENV_KEYS = ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "REDIS_URL")


def main(out: Path) -> None:
    import os

    env = {k: os.environ[k] for k in ENV_KEYS}
    env |= {"ADMIN_USERNAME": "admin", "ADMIN_PASSWORD": "change-me"}
    platform = start_platform(env, Path(tempfile.mkdtemp()), None, redis_db=8)  # type: ignore[arg-type]
    try:
        url = platform.gateway_url
        with Browser(width=1280, height=900) as b:
            b.goto(f"{url}/dashboard/")
            eventually(lambda: b.evaluate("Live.applied !== null"), timeout=30, what="feed")
            b.type("#burst-count", "40")
            b.click("#burst-form button")
            eventually(
                lambda: (
                    b.evaluate("document.getElementById('burst-result').textContent")
                    == "40 of 40 accepted"
                ),
                timeout=60,
                what="the burst",
            )
            eventually(
                lambda: not b.evaluate("document.querySelector('#orders tr.status-pending')"),
                timeout=90,
                what="every order decided",
            )
            b.click("#orders tr:first-child")
            eventually(
                lambda: b.evaluate("!document.getElementById('timeline').hidden"),
                timeout=10,
                what="timeline",
            )
            eventually(
                lambda: b.evaluate("document.querySelectorAll('#timeline-rows tr').length >= 4"),
                timeout=10,
                what="timeline rows",
            )
            b.screenshot(out / "orders.png")
            b.goto(f"{url}/dashboard/top-products")
            eventually(
                lambda: b.evaluate("document.querySelectorAll('#chart rect').length"),
                timeout=90,
                what="a top-products snapshot",
            )
            b.screenshot(out / "top-products.png")
            b.goto(f"{url}/dashboard/health")
            eventually(
                lambda: b.evaluate("document.querySelectorAll('#health .card.up').length >= 11"),
                timeout=30,
                what="health",
            )
            b.screenshot(out / "health.png")
            b.goto(f"{url}/dashboard/groups")
            eventually(
                lambda: b.evaluate("document.querySelectorAll('#groups .group').length >= 6"),
                timeout=30,
                what="groups",
            )
            b.screenshot(out / "groups.png")

            stopped = time.monotonic()
            platform.supervisor.stop("payment")
            eventually(
                lambda: b.evaluate(
                    "(document.querySelector('#groups .group[data-group=payment] .members li.down')"
                    " || {}).textContent === 'no members'"
                ),
                timeout=60,
                what="payment without members",
            )
            print(
                f"payment stopped: groups page showed it after {time.monotonic() - stopped:.1f} s"
            )
            b.screenshot(out / "groups-payment-stopped.png")
            platform.supervisor.start("payment")
            platform.wait_ready("payment")
            restarted = time.monotonic()
            eventually(
                lambda: b.evaluate(
                    "!!document.querySelector('#groups .group.rebalanced[data-group=payment]')"
                    " && !document.querySelector('#groups .group[data-group=payment] li.down')"
                ),
                timeout=60,
                what="payment back, highlighted",
            )
            print(f"payment restarted: rebalance shown after {time.monotonic() - restarted:.1f} s")
            b.screenshot(out / "groups-rebalanced.png")

            b.goto(f"{url}/dashboard/ops")
            b.type("input[name=username]", "admin")
            b.type("input[name=password]", "change-me")
            b.click("button[type=submit]")
            eventually(
                lambda: b.evaluate("document.querySelectorAll('#faults tr').length >= 5"),
                timeout=15,
                what="ops",
            )
            b.screenshot(out / "operations.png")
    finally:
        platform.stop()


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/dashboard")
    target.mkdir(parents=True, exist_ok=True)
    main(target)
