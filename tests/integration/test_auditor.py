"""The live invariant auditor on the real stack: a clean run audits every order at zero,
and a forged second charge is counted once, on its metrics and on the dashboard's status.

One platform for the module (gateway, relay, projector, payment, inventory, saga,
notification, the auditor and the dashboard's monitor) on a fresh database and
catalogue. The auditor runs as a consumer group of its own that starts at the end of
the shared broker's topics, so earlier modules' orders (some broken on purpose) are not
in its verdict.
"""

from __future__ import annotations

import re
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from contracts import encode
from contracts.testing import payment_authorized
from harness.runner import Platform
from tests.integration.conftest import audited_platform
from tests.integration.support import http, produce
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

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
GROUP = f"auditor-it-{uuid.uuid4().hex[:8]}"
ORDERS = 12
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def platform(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    settings = {
        "AUDITOR_GROUP": GROUP,
        "AUDITOR_GRACE_SECONDS": "3",
        "AUDITOR_INTERVAL_SECONDS": "0.5",
        "SAGA_DEADLINE_SECONDS": "5",
    }
    folder = tmp_path_factory.mktemp("auditor")
    with audited_platform(stack_env, folder, SERVICES, redis_db=13, settings=settings) as running:
        yield running


def place(platform: Platform, user: str, product: dict[str, Any]) -> str:
    body = {
        "orderId": f"audit-{uuid.uuid4()}",
        "userId": user,
        "currency": "USD",
        "items": [{"productId": product["productId"], "quantity": 1, "price": product["price"]}],
    }
    status, _, answer = http("POST", f"{platform.gateway_url}/api/orders", body)
    assert status == 202, answer
    return str(answer["orderId"])


def order(platform: Platform, order_id: str) -> dict[str, Any]:
    status, _, body = http("GET", f"{platform.gateway_url}/api/orders/{order_id}")
    assert status == 200, body
    return dict(body)


def audit(platform: Platform) -> dict[str, Any] | None:
    """The auditor's verdict as the dashboard's monitor last pushed it."""
    status, _, body = http("GET", f"{platform.gateway_url}/api/dashboard/status")
    assert status == 200, body
    return None if body["status"] is None else body["status"].get("audit")


def metrics(platform: Platform) -> str:
    """The auditor's ``/metrics`` text (its address is in its log)."""
    path = platform.supervisor.log_path("auditor")
    assert path is not None
    found = re.findall(r"metrics: (http://[\d.]+:\d+/metrics)", path.read_text())
    assert found, "the auditor logged no metrics address"
    with _DIRECT.open(found[-1], timeout=5) as answer:
        return str(answer.read().decode())


def sample(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith((name + "{", name + " ")) and all(
            f'{k}="{v}"' in line for k, v in labels.items()
        ):
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.fixture(scope="module")
def decided(platform: Platform) -> list[str]:
    """``ORDERS`` orders (some declined: ``user-blocked``), each decided and notified."""
    status, _, catalogue = http("GET", f"{platform.gateway_url}/api/products")
    assert status == 200, catalogue
    product = max(catalogue, key=lambda p: p["available"])
    users = ["user-blocked" if i % 4 == 0 else f"user-{i}" for i in range(ORDERS)]
    ids = [place(platform, user, product) for user in users]

    def all_decided() -> bool:
        return all(
            (o := order(platform, i))["status"] != "PENDING" and o["notification"]["status"]
            for i in ids
        )

    eventually(all_decided, timeout=120, what=f"{ORDERS} orders decided and notified")
    return ids


def test_a_clean_run_is_audited_at_zero(platform: Platform, decided: list[str]) -> None:
    def settled() -> dict[str, Any] | None:
        found = audit(platform)
        if found is None or found["orders"] < len(decided) or found["pending"]:
            return None
        return found

    verdict = eventually(settled, timeout=90, what="the audit of every order, settled")

    assert verdict["orders"] == len(decided)
    assert verdict["counts"] == dict.fromkeys(verdict["counts"], 0), verdict
    assert verdict["violations"] == []
    assert not verdict["stale"]
    text = metrics(platform)
    assert sample(text, "saga_audit_orders") == len(decided)
    assert sample(text, "saga_audit_violations", kind="double_charged") == 0


def test_a_forged_second_charge_is_counted_once(platform: Platform, decided: list[str]) -> None:
    completed = next(i for i in decided if order(platform, i)["status"] == "COMPLETED")
    amount = order(platform, completed)["amount"]
    forged = payment_authorized(completed, amount=str(amount))  # a new event id
    bootstrap = platform.env["KAFKA_BOOTSTRAP_SERVERS"]
    for _ in range(3):  # delivered three times: still one double charge
        produce(bootstrap, "payments.v1", completed.encode(), encode(forged))

    def flagged() -> dict[str, Any] | None:
        found = audit(platform)
        if not found or not found["counts"]["doubleCharged"] or found["pending"]:
            return None
        return found

    verdict = eventually(flagged, timeout=60, what="the forged charge in the audit")

    assert verdict["counts"]["doubleCharged"] == 1
    # Its net charge is twice the total once the grace has passed, and that is all.
    assert verdict["counts"]["wrongCharge"] == 1
    assert sum(verdict["counts"].values()) == 2, verdict["counts"]
    assert verdict["violations"] == [
        {"orderId": completed, "kinds": ["double_charged", "wrong_charge"]}
    ]
    assert verdict["orders"] == len(decided)
    text = metrics(platform)
    assert sample(text, "saga_audit_violations", kind="double_charged") == 1
    assert sample(text, "saga_audit_violations", kind="wrong_charge") == 1
