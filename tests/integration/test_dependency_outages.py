"""PostgreSQL, then Redis, stopped and started again under the running platform.

The gateway never answers a 5xx but a JSON 503 with ``Retry-After`` while a dependency
it needs is down (an order POST, an order GET and the plain ``/metrics`` view while
PostgreSQL is down; the staff faults API while Redis is down; orders need no Redis and
are accepted meanwhile), and the first request after the dependency is back succeeds: an
order refused with 503 and retried with the same ``Idempotency-Key`` is placed once. A
quick restart (the chaos test's) costs no request either: the gateway's pooled
connections that died with the server are replaced before one is used. Every process
(gateway, relay, projector and the workers; inventory and the fault settings of every
worker live in Redis) goes on without a restart, and every order placed before, during
and after the outages completes, is projected and is notified once, with the invariants
of `sagactl chaos` (`harness.ledger`) read back from the topics.

Runs on a stack of its own (Kafka, PostgreSQL and Redis: the shared stack must not go
down under other tests, and the ledger reads whole topics).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from gateway.errors import RETRY_AFTER_SECONDS
from harness import ledger
from harness.runner import Platform
from harness.stack import Stack
from tests.integration.conftest import start_platform
from tests.integration.support import eventually, http

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

SERVICES = ["gateway", "relay", "projector", "payment", "inventory", "saga", "notification"]
ADMIN = ("it-admin", "it-admin-pw-7")
AUTH = {"Authorization": "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()}
#: Longer than the gateway's pool timeout (10 s): a request that waits for a database
#: connection during the outage gets its 503 instead of a client timeout.
PATIENCE_S = 30.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    own = Stack(docker=False, environ={}, workdir=tmp_path_factory.mktemp("stack"))
    own.start()
    try:
        yield own
    finally:
        own.stop()


@pytest.fixture(scope="module")
def platform(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    env = {
        **stack.env(),
        "ADMIN_USERNAME": ADMIN[0],
        "ADMIN_PASSWORD": ADMIN[1],
        "PAYMENT_DECLINE_RATE": "0",
    }
    running = start_platform(env, tmp_path_factory.mktemp("outages"), SERVICES)
    try:
        yield running
    finally:
        running.stop()


class Gateway:
    """The test's client: every answer kept, to show that none was a 5xx but the 503s
    while a dependency was down."""

    def __init__(self, platform: Platform, product: dict[str, Any]) -> None:
        self.url = platform.gateway_url
        self.product = product
        self.answers: list[tuple[str, int, float, float]] = []

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        began = time.monotonic()
        status, answered_headers, answer = http(
            method, f"{self.url}{path}", body, timeout=PATIENCE_S, **headers
        )
        self.answers.append((f"{method} {path}", status, began, time.monotonic()))
        return status, answered_headers, answer

    def place(self, order_id: str) -> tuple[int, dict[str, str], Any]:
        body = {
            "orderId": order_id,
            "userId": f"user-{order_id}",
            "currency": "USD",
            "items": [
                {
                    "productId": self.product["productId"],
                    "quantity": 1,
                    "price": self.product["price"],
                }
            ],
        }
        result: tuple[int, dict[str, str], Any] = self.call(
            "POST", "/api/orders", body, Idempotency_Key=f"key-{order_id}"
        )
        return result

    def accepted(self, order_id: str) -> str:
        status, _, answer = self.place(order_id)
        assert status == 202, (order_id, status, answer)
        assert answer["orderId"] == order_id
        return order_id

    def order(self, order_id: str) -> dict[str, Any]:
        status, _, answer = self.call("GET", f"/api/orders/{order_id}")
        assert status == 200, (order_id, status, answer)
        return dict(answer)


def catalogue(platform: Platform) -> list[dict[str, Any]] | None:
    status, _, products = http("GET", f"{platform.gateway_url}/api/products")
    return list(products) if status == 200 and products else None


def unavailable(answer: tuple[int, dict[str, str], Any], dependency: str) -> None:
    status, headers, body = answer
    assert status == 503, answer
    assert headers.get("Retry-After") == str(RETRY_AFTER_SECONDS), headers
    assert headers.get("Content-Type", "").startswith("application/json"), headers
    assert body["type"] == f"{dependency}_unavailable", body
    assert body["errors"][0]["field"] == dependency and body["detail"], body


def test_postgresql_and_redis_restarts_cost_no_500_no_process_and_no_order(
    platform: Platform, stack: Stack
) -> None:
    assert stack.postgres is not None and stack.redis is not None
    products = eventually(lambda: catalogue(platform), timeout=90, what="the seeded catalogue")
    product = max(products, key=lambda p: p["available"])
    stock_before = {p["productId"]: int(p["available"]) for p in products}
    gw = Gateway(platform, product)
    warm = gw.accepted("dep-warm")
    eventually(lambda: gw.order(warm)["status"] == "COMPLETED", timeout=120, what="a first order")
    sup = platform.supervisor
    pids = {name: sup.pid(name) for name in platform.names}
    restarts = {name: sup.restarts(name) for name in platform.names}
    before = [gw.accepted(f"dep-before-{n}") for n in range(4)]

    # A quick PostgreSQL restart, as the chaos test's: every pooled connection dies with
    # it (the gateway's pool first holds several), and the first requests after it that
    # got one of them used to fail with a 500.
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(gw.order, before * 4))
    outages: list[tuple[float, float]] = []
    down = time.monotonic()
    stack.postgres.stop()
    stack.postgres.start()
    outages.append((down, time.monotonic()))
    quick = [f"dep-quick-pg-{n}" for n in range(3)]
    first_tries = [gw.place(order_id) for order_id in quick]
    assert [s for s, _, _ in first_tries] == [202] * len(quick), first_tries

    # PostgreSQL down: orders, order reads and a plain Django view answer 503.
    down = time.monotonic()
    stack.postgres.stop()
    try:
        during_pg = [f"dep-during-pg-{n}" for n in range(2)]
        with ThreadPoolExecutor(4) as pool:  # together: each waits out the pool timeout
            asked = [pool.submit(gw.place, order_id) for order_id in during_pg]
            asked.append(pool.submit(gw.call, "GET", f"/api/orders/{before[0]}"))
            asked.append(pool.submit(gw.call, "GET", "/metrics"))  # a plain Django view
            for answer in [a.result() for a in asked]:
                unavailable(answer, "database")
    finally:
        stack.postgres.start()
        outages.append((down, time.monotonic()))
    # Back: the first try of each refused order is accepted, once.
    first_tries = [gw.place(order_id) for order_id in during_pg]
    assert [s for s, _, _ in first_tries] == [202, 202], first_tries
    after_pg = [gw.accepted(f"dep-after-pg-{n}") for n in range(3)]

    # Redis down: the faults API answers 503; orders (no Redis needed) are accepted, paid,
    # and wait for inventory, whose stock is in Redis.
    down = time.monotonic()
    stack.redis.stop()
    try:
        unavailable(gw.call("GET", "/api/ops/faults", **AUTH), "redis")
        during_redis = [gw.accepted(f"dep-during-redis-{n}") for n in range(3)]
        eventually(
            lambda: all(
                (gw.order(o).get("payment") or {}).get("status") == "AUTHORIZED"
                for o in during_redis
            ),
            timeout=60,
            what="the orders placed while Redis is down to be paid",
        )
        assert {gw.order(o)["status"] for o in during_redis} == {"PENDING"}  # no stock yet
    finally:
        stack.redis.start()
        outages.append((down, time.monotonic()))
    status, _, faults = gw.call("GET", "/api/ops/faults", **AUTH)
    assert status == 200, faults  # the first try after Redis is back
    after_redis = [gw.accepted(f"dep-after-redis-{n}") for n in range(3)]

    # Every order decided, projected and notified once; nothing doubled or lost.
    placed = [warm, *before, *quick, *during_pg, *after_pg, *during_redis, *after_redis]

    def finished() -> dict[str, dict[str, Any]] | None:
        found = {o: gw.order(o) for o in placed}
        done = all(
            o["status"] != "PENDING" and (o.get("notification") or {}).get("status")
            for o in found.values()
        )
        return found if done else None

    api = eventually(finished, timeout=180, what="every order decided and notified", interval=1)
    assert {o: a["status"] for o, a in api.items()} == dict.fromkeys(placed, "COMPLETED")
    verdict = ledger.check(
        ledger.collect(platform.env["KAFKA_BOOTSTRAP_SERVERS"]),
        placed,
        api,
        stock_before=stock_before,
    )
    assert verdict.ok, verdict.violations
    assert verdict.figures["completed"] == len(placed) == verdict.figures["charged_orders"]
    assert verdict.figures["notices"] == len(placed)
    status, _, page = gw.call("GET", "/api/orders?limit=500")
    assert status == 200
    assert sorted(o["orderId"] for o in page["results"]) == sorted(placed)  # none doubled

    # Every process went on: the same pid, no restart.
    assert {n: sup.pid(n) for n in platform.names} == pids
    assert {n: sup.restarts(n) for n in platform.names} == restarts

    # No 5xx at all but the 503s, and those only while a dependency was down.
    errors = [(what, s) for what, s, _, _ in gw.answers if s >= 500 and s != 503]
    assert errors == []
    stray = [
        (what, began)
        for what, s, began, ended in gw.answers
        if s == 503 and not any(began <= end and ended >= start for start, end in outages)
    ]
    assert stray == []
    statuses: dict[int, int] = {}
    for _, s, _, _ in gw.answers:
        statuses[s] = statuses.get(s, 0) + 1
    print(
        f"dependency outages: {len(placed)} orders all COMPLETED;"
        f" answers {sorted(statuses.items())};"
        f" PostgreSQL restarted in {outages[0][1] - outages[0][0]:.1f}s, then down"
        f" {outages[1][1] - outages[1][0]:.1f}s; Redis down {outages[2][1] - outages[2][0]:.1f}s;"
        f" processes: {sorted(pids)}, 0 restarts"
    )
