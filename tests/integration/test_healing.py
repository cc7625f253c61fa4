"""The platform heals without a manual step: a worker or the projector killed from
outside (not through the supervisor) is restarted by it; the relay, projector and a
worker started while the broker is down wait for it, then work; the projector rides out
a broker restart (it used to die ~20 s later with an unhandled CommitFailedError).

Runs its own broker (the shared one must not go down under other tests).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.kafka import KafkaBroker
from harness.runner import Platform
from tests.integration.conftest import start_platform
from tests.integration.test_walking_skeleton import catalogue, new_order, paid, place
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

WAITERS = ["relay", "projector", "payment"]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    own = KafkaBroker(base_dir=tmp_path_factory.mktemp("kafka"))
    own.start()
    try:
        yield own
    finally:
        own.close()


@pytest.fixture(scope="module")
def platform(
    stack_env: dict[str, str], broker: KafkaBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    env = {**stack_env, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap}
    running = start_platform(env, Path(tmp_path_factory.mktemp("healing")))
    try:
        catalogue(running)  # the product the orders name (inventory does not run here)
        yield running
    finally:
        running.stop()


def crash(platform: Platform, name: str) -> int:
    """SIGKILL ``name``'s process group behind the supervisor's back: a real crash."""
    pid = platform.supervisor.pid(name)
    os.killpg(pid, signal.SIGKILL)
    return pid


def restarted(platform: Platform, name: str, old_pid: int) -> None:
    sup = platform.supervisor
    eventually(
        lambda: sup.is_running(name) and sup.pid(name) != old_pid,
        timeout=30,
        what=f"the supervisor to restart {name}",
    )
    platform.wait_ready(name)


def says_waiting(platform: Platform, name: str) -> Callable[[], bool]:
    return lambda: any(
        "waiting for Kafka at" in line for line in platform.supervisor.tail(name, 200)
    )


def test_a_killed_worker_and_projector_are_restarted_and_orders_placed_meanwhile_complete(
    platform: Platform,
) -> None:
    paid(platform, place(platform, new_order())["orderId"], timeout=60)
    before = {name: platform.supervisor.restarts(name) for name in ("payment", "projector")}
    payment_pid = crash(platform, "payment")
    projector_pid = crash(platform, "projector")
    placed = [place(platform, new_order(userId=f"user-h{n}"))["orderId"] for n in range(10)]

    restarted(platform, "payment", payment_pid)
    restarted(platform, "projector", projector_pid)
    for order_id in placed:
        assert paid(platform, order_id, timeout=90)["payment"]["status"] == "AUTHORIZED"
    rows = {p["name"]: p for p in platform.status()["processes"]}  # type: ignore[attr-defined]
    for name in ("payment", "projector"):
        assert rows[name]["restarts"] == before[name] + 1
        assert rows[name]["state"] == "running"


def test_processes_started_while_the_broker_is_down_wait_for_it_then_work(
    platform: Platform, broker: KafkaBroker
) -> None:
    sup = platform.supervisor
    for name in WAITERS:
        sup.stop(name)
    broker.stop()
    try:
        for name in WAITERS:
            sup.start(name)
        for name in WAITERS:
            eventually(
                says_waiting(platform, name), timeout=60, what=f"{name} to say it waits for Kafka"
            )
        # Waiting, not exiting: each is still the process it was started as, not ready.
        assert all(sup.is_running(name) for name in WAITERS)
        assert not any(line for line in sup.tail("relay", 200) if "connected to Kafka" in line)
        pids = {name: sup.pid(name) for name in WAITERS}
        accepted = place(platform, new_order(userId="user-early"))["orderId"]
    finally:
        broker.start()
    for name in WAITERS:
        platform.wait_ready(name)
        assert sup.pid(name) == pids[name]  # it waited: never exited and restarted
    assert paid(platform, accepted, timeout=120)["payment"]["status"] == "AUTHORIZED"


def test_the_projector_rides_out_a_broker_restart(platform: Platform, broker: KafkaBroker) -> None:
    sup = platform.supervisor
    paid(platform, place(platform, new_order())["orderId"], timeout=60)
    projector_pid = sup.pid("projector")
    restarts = sup.restarts("projector")
    broker.stop()
    accepted = [place(platform, new_order(userId=f"user-r{n}"))["orderId"] for n in range(5)]
    broker.start()
    back = time.monotonic()
    # A steady trickle of orders for 40 s after the broker came back: the projector used
    # to die ~20 s after it (CommitFailedError); every order must still be projected.
    while time.monotonic() - back < 40:
        order_id = place(platform, new_order(userId="user-after"))["orderId"]
        accepted.append(order_id)
        paid(platform, order_id, timeout=90)
    for order_id in accepted:
        assert paid(platform, order_id, timeout=90)["payment"]["status"] == "AUTHORIZED"
    assert sup.pid("projector") == projector_pid, "the projector exited and was restarted"
    assert sup.restarts("projector") == restarts
