"""The co-hosted worker (`sagactl run --cohost`): the whole saga with payment, inventory,
saga, notification and analytics as agents of one process, on the real stack.

Its group is new and starts at the end of every topic (the shared broker holds earlier
modules' orders, which it must not charge again)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from contracts.topics import ALL_TOPICS
from harness import ledger
from harness.runner import Platform
from tests.integration.conftest import start_platform
from tests.integration.support import http, start_at_the_end
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

GROUP = f"workers-it-{uuid.uuid4().hex[:8]}"
SERVICES = ["gateway", "relay", "projector", "workers"]


@pytest.fixture(scope="module")
def platform(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    env = {
        **stack_env,
        "WORKERS_GROUP": GROUP,
        "ANALYTICS_GROUP": f"{GROUP}-analytics",
        "PAYMENT_DECLINE_RATE": "0",
    }
    start_at_the_end(env["KAFKA_BOOTSTRAP_SERVERS"], GROUP, [t.name for t in ALL_TOPICS])
    running = start_platform(
        env, tmp_path_factory.mktemp("cohost"), SERVICES, redis_db=12, cohost=True
    )
    try:
        yield running
    finally:
        running.stop()


def place(platform: Platform, user: str, product: dict[str, Any], quantity: int = 1) -> str:
    body = {
        "orderId": f"cohost-{uuid.uuid4()}",
        "userId": user,
        "currency": "USD",
        "items": [{"productId": product["productId"], "quantity": quantity}],
    }
    status, _, answer = http("POST", f"{platform.gateway_url}/api/orders", body)
    assert status == 202, answer
    return str(answer["orderId"])


def test_one_worker_process_runs_the_whole_saga(platform: Platform) -> None:
    assert "workers" in platform.names
    assert not {"payment", "inventory", "saga", "notification", "analytics"} & set(platform.names)
    status, _, catalogue = http("GET", f"{platform.gateway_url}/api/products")
    assert status == 200, catalogue
    product = next(p for p in catalogue if p["available"] >= 20)
    placed = [place(platform, f"user-{n}", product) for n in range(8)]
    blocked = place(platform, "user-blocked", product)  # declined: cancelled, not charged
    ids = [*placed, blocked]

    def decided() -> dict[str, str] | None:
        statuses = {}
        for order_id in ids:
            _, _, body = http("GET", f"{platform.gateway_url}/api/orders/{order_id}")
            if body.get("status") in (None, "PENDING"):
                return None
            statuses[order_id] = body["status"]
        return statuses

    statuses = eventually(decided, timeout=90, what="every order decided", interval=0.5)
    assert {statuses[o] for o in placed} == {"COMPLETED"}
    assert statuses[blocked] == "CANCELLED"

    bootstrap = platform.env["KAFKA_BOOTSTRAP_SERVERS"]

    def settled() -> ledger.Verdict | None:
        verdict = ledger.check(ledger.collect(bootstrap), ids, {})
        return None if any(v for k, v in verdict.violations.items()
                           if k != "read_model_mismatch") else verdict  # fmt: skip

    verdict = eventually(settled, timeout=60, what="charges, stock and notices settled")
    assert verdict.figures["completed"] == 8 and verdict.figures["cancelled"] == 1
    assert verdict.figures["charged_orders"] == 8  # the blocked customer was never charged
    assert verdict.figures["notices"] == 9  # one notice per outcome

    def counted() -> bool:
        _, _, top = http(
            "GET", f"{platform.gateway_url}/api/analytics/top-products?window=5m&by=units"
        )
        units = {row["productId"]: row["units"] for row in top.get("demand", [])}
        return int(units.get(product["productId"], 0)) >= 8

    eventually(counted, timeout=90, what="the analytics agent's top products", interval=1.0)
