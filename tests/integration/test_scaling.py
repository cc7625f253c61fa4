"""Scaling a running platform: under a steady load the payment group goes from 1 to 3 to 1
local workers through `sagactl scale` (the control socket); the broker's assignment
follows, every order ends, and nobody is charged twice."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from harness.runner import Platform
from kafka_admin.groups import GroupState, describe_group
from sagactl.cli import main as sagactl
from tests.integration.conftest import controlled_platform
from tests.integration.ledger import collect
from tests.integration.support import eventually, http

pytestmark = pytest.mark.integration

SERVICES = ["gateway", "relay", "projector", "payment", "inventory", "saga"]
RATE = 10.0  # orders per second, all along


@pytest.fixture(scope="module")
def running(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Platform, Path]]:
    tmp = tmp_path_factory.mktemp("scaling")
    with controlled_platform(stack_env, tmp, SERVICES, redis_db=8) as running:
        yield running


def payment_group(platform: Platform) -> GroupState:
    bootstrap = [platform.env["KAFKA_BOOTSTRAP_SERVERS"]]
    return asyncio.run(describe_group(bootstrap, "payment"))


def orders_partitions(state: GroupState) -> list[tuple[int, ...]]:
    """Each member's partitions of orders.v1, sorted."""
    return sorted(tuple(p for t, p in m.assignment if t == "orders.v1") for m in state.members)


class SteadyLoad:
    """Places an order every 1/RATE s from a thread until stopped."""

    def __init__(self, platform: Platform, product: dict[str, str]) -> None:
        self.platform, self.product = platform, product
        self.placed: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(1 / RATE):  # the load's pace, not a wait for a result
            body = {
                "orderId": f"scale-{uuid.uuid4()}",
                "userId": "user-scale",
                "items": [{"productId": self.product["productId"], "quantity": 1,
                           "price": self.product["price"]}],
            }  # fmt: skip
            status, _, answer = http("POST", f"{self.platform.gateway_url}/api/orders", body)
            assert status == 202, answer
            self.placed.append(body["orderId"])


def test_payment_group_goes_1_3_1_under_load(running: tuple[Platform, Path]) -> None:
    platform, sock = running
    _, _, products = eventually(
        lambda: (r := http("GET", f"{platform.gateway_url}/api/products"))[2] and r,
        timeout=60,
        what="the seeded catalogue",
    )
    product = max(products, key=lambda p: p["available"])
    one = eventually(
        lambda: (s := payment_group(platform)).state == "Stable" and len(s.members) == 1 and s,
        timeout=60,
        what="one stable payment member",
    )
    assert orders_partitions(one) == [(0, 1, 2, 3, 4, 5)]

    load = SteadyLoad(platform, product)
    load.thread.start()
    try:
        eventually(lambda: len(load.placed) >= 20, timeout=30, what="the load to run")
        assert sagactl(["scale", "payment=3", "--control", str(sock)]) == 0
        three = eventually(
            lambda: (
                (s := payment_group(platform)).state == "Stable"
                and len(s.members) == 3
                and all(orders_partitions(s))
                and s
            ),
            timeout=90,
            what="three payment members sharing orders.v1",
        )
        shares = orders_partitions(three)
        assert sorted(p for share in shares for p in share) == [0, 1, 2, 3, 4, 5], shares
        mark = len(load.placed)
        eventually(lambda: len(load.placed) >= mark + 30, timeout=30, what="load with three")
        assert sagactl(["scale", "payment=1", "--control", str(sock)]) == 0
        back = eventually(
            lambda: (s := payment_group(platform)).state == "Stable" and len(s.members) == 1 and s,
            timeout=90,
            what="one payment member again",
        )
        assert orders_partitions(back) == [(0, 1, 2, 3, 4, 5)]
        mark = len(load.placed)
        eventually(lambda: len(load.placed) >= mark + 20, timeout=30, what="load with one")
    finally:
        load.stop.set()
        load.thread.join()
    print(f"\nscaling: {len(load.placed)} orders; orders.v1 shares with 3 workers: {shares}")

    placed = load.placed

    def all_terminal() -> bool:
        for order_id in placed:
            _, _, order = http("GET", f"{platform.gateway_url}/api/orders/{order_id}")
            if order["status"] == "PENDING":
                return False
        return True

    eventually(all_terminal, timeout=120, what=f"{len(placed)} orders to end", interval=0.5)
    facts = eventually(
        lambda: (
            (f := collect(platform.env["KAFKA_BOOTSTRAP_SERVERS"]))
            and all(o in f.outcomes for o in placed)
            and f
        ),
        timeout=60,
        what="every outcome on the topic",
    )
    for order_id in placed:
        [outcome] = facts.outcomes[order_id]
        completed = type(outcome).__name__ == "OrderCompleted"
        authorizations = [
            e for e, o in facts.event_ids.items() if o == order_id and e.startswith("payments.v1/")
        ]
        # One payment decision per order (a second charge would be a second event id),
        # and the net charge is the total if completed, else nothing.
        assert len(authorizations) <= 2, (order_id, authorizations)  # authorize (+ refund)
        expected = facts.placed[order_id].amount if completed else Decimal(0)
        assert facts.net_charge(order_id) == expected, order_id
        assert facts.charged[order_id] in (Decimal(0), facts.placed[order_id].amount), order_id
    # The commit watchdog (streaming.upstream.commit_watchdog) is a safety net: through
    # three rebalances under load no partition's commits stalled, so it re-read nothing.
    log_dir = platform.options.log_dir
    assert log_dir is not None
    logs = sorted(log_dir.glob("*.log"))
    assert any(p.name.startswith("payment") for p in logs), logs
    heals = [
        f"{p.name}: {line.strip()}"
        for p in logs
        for line in p.read_text(errors="replace").splitlines()
        if "(Faust lost their acks or dropped them); re-reading from" in line
    ]
    assert heals == [], heals
