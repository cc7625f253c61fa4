"""How the chaos scenario tallies the gateway's answers: a 5xx other than 503 is a
violation; a 503 is allowed only while PostgreSQL or Redis is restarted (and retried).
Against a real HTTP server (aiohttp) that answers as a gateway would."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from aiohttp import web

from harness import ledger
from sagactl import chaos
from sagactl.chaos import OUTAGE_GRACE_S, ChaosPlan, ChaosResult

PRODUCTS = [
    {"productId": "prod-001", "price": "10.00", "available": 1000},
    {"productId": "prod-013", "price": "20.00", "available": 3},
    {"productId": "prod-022", "price": "899.00", "available": 100},
]


class Target:
    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        self.bootstrap = ""


async def answered(first: int, orders: int, *, outage: bool = False) -> ChaosResult:
    """Run the load against a server that answers ``first`` to each order's first
    request and 202 to its retry; with ``outage``, a PostgreSQL restart covers the run."""
    seen: Counter[str] = Counter()

    async def post(request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json()
        seen[body["orderId"]] += 1
        if seen[body["orderId"]] == 1:
            return web.json_response({"status": first, "type": "x"}, status=first)
        return web.json_response({"orderId": body["orderId"]}, status=202)

    app = web.Application()
    app.router.add_post("/api/orders", post)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    result = ChaosResult(verdict=ledger.Verdict())
    if outage:
        now = time.monotonic()
        result.outages.append(("postgres", now, now + 0.5))
    accepted: dict[str, str] = {}
    plan = ChaosPlan(orders=orders, rate=0, concurrency=2, seed=7)
    try:
        await chaos._load(
            Target(f"http://127.0.0.1:{port}"),  # type: ignore[arg-type]
            plan,
            PRODUCTS,
            result,
            accepted,
            time.monotonic() + 30,
            lambda line: None,
        )
    finally:
        await runner.cleanup()
    assert len({k for k in accepted if k.startswith("chaos-")}) == orders  # retried, accepted
    return result


def test_a_500_answer_is_a_violation_even_when_the_retry_is_accepted() -> None:
    result = asyncio.run(answered(500, orders=2))

    assert result.statuses["500"] >= 2 and result.statuses["202"] >= 2
    assert len(result.server_errors) == result.statuses["500"]
    assert not result.ok
    report = result.report()
    assert "server_errors" in report and "chaos: VIOLATIONS" in report


def test_a_503_during_a_restart_is_allowed_and_reported_apart() -> None:
    result = asyncio.run(answered(503, orders=2, outage=True))

    assert result.statuses["503"] >= 2 and not result.server_errors
    assert result.stray_unavailable == [] and result.ok
    report = result.report()
    assert (
        f"503 during PostgreSQL/Redis restarts (allowed, retried): {result.statuses['503']}"
        in report
    )
    assert "chaos: OK" in report


def test_a_503_with_no_restart_going_on_is_a_violation() -> None:
    result = asyncio.run(answered(503, orders=2))

    assert len(result.stray_unavailable) == result.statuses["503"] >= 2
    assert not result.ok and "stray_503" in result.report()


def test_the_outage_window_has_a_grace_period() -> None:
    result = ChaosResult(verdict=ledger.Verdict(), outages=[("redis", 100.0, 101.0)])

    assert result.during_outage(99.0, 100.5)  # in flight when it began
    assert result.during_outage(101.0 + OUTAGE_GRACE_S - 1, 101.0 + OUTAGE_GRACE_S + 5)
    assert not result.during_outage(90.0, 99.0)  # answered before
    assert not result.during_outage(101.0 + OUTAGE_GRACE_S + 1, 120.0)  # sent long after
