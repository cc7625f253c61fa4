"""A broker outage delays orders, never loses them: the relay resends from the outbox.

Runs its own broker (the shared one must not go down under other tests), with the
gateway, relay, projector and payment worker pointed at it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import contracts
from harness.kafka import KafkaBroker
from harness.runner import Platform
from tests.integration.conftest import start_platform
from tests.integration.support import http, read_topic
from tests.integration.test_walking_skeleton import catalogue, new_order, paid, place

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    broker = KafkaBroker(base_dir=tmp_path_factory.mktemp("kafka"))
    broker.start()
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture(scope="module")
def outage_platform(
    stack_env: dict[str, str], own_broker: KafkaBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    env = {**stack_env, "KAFKA_BOOTSTRAP_SERVERS": own_broker.bootstrap}
    running = start_platform(env, Path(tmp_path_factory.mktemp("outage")))
    try:
        catalogue(running)  # its own broker: the product the orders name, published here
        yield running
    finally:
        running.stop()


def test_orders_accepted_while_the_broker_is_down_are_published_after_it_returns(
    outage_platform: Platform, own_broker: KafkaBroker
) -> None:
    platform = outage_platform
    paid(platform, place(platform, new_order())["orderId"], timeout=60)

    own_broker.stop()
    accepted = [place(platform, new_order(userId=f"user-o{n}"))["orderId"] for n in range(25)]
    for order_id in accepted[:3]:
        status, _, order = http("GET", f"{platform.gateway_url}/api/orders/{order_id}")
        assert status == 200 and order["status"] == "PENDING"
    own_broker.start()

    for order_id in accepted:
        assert paid(platform, order_id, timeout=90)["payment"]["status"] == "AUTHORIZED"
    placed = [
        contracts.decode(r.value)
        for r in read_topic(own_broker.bootstrap, "orders.v1")
        if r.key.decode() in accepted
    ]
    assert {e.order_id for e in placed} == set(accepted)
