"""The chaos tier at a small scale: a few hundred orders through the gateway while every
worker type, the projector and the relay are killed with SIGKILL, the broker is killed and
restarted, and PostgreSQL and Redis are restarted; then every invariant of `sagactl chaos`
holds (0 lost, stuck, double-charged, oversold, leaked; one notice per outcome; the read
model equal to the topics; no 5xx from the gateway but a 503 while PostgreSQL or Redis
restarts).

Runs on a stack and platform of its own (the shared stack must not go down under other
tests). ``CHAOS_ORDERS`` / ``CHAOS_BROKERS`` scale it up; ``CHAOS_BROKER_DOWN`` (seconds)
lengthens the broker's outage.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sagactl.chaos import ALL_FAULTS, ChaosPlan
from sagactl.commands.chaos import run_owned

pytestmark = pytest.mark.integration


@pytest.mark.timeout(600)  # the scenario's own bound is max_seconds (420 s), not pytest's 300
def test_no_order_is_lost_doubled_or_oversold_under_crashes_and_restarts(
    tmp_path: Path,
) -> None:
    orders = int(os.environ.get("CHAOS_ORDERS") or 200)
    plan = ChaosPlan(orders=orders, rate=4.0, max_seconds=420.0, settle_timeout=180.0)
    result = run_owned(
        plan,
        brokers=int(os.environ.get("CHAOS_BROKERS") or 1),
        log_dir=tmp_path,
        broker_down=float(os.environ.get("CHAOS_BROKER_DOWN") or 5),
    )
    print(result.report())
    assert result.ok, result.report()
    assert result.verdict.counts() == dict.fromkeys(result.verdict.counts(), 0)
    assert not result.duplicate_orders
    assert not result.server_errors and not result.stray_unavailable
    injected = " ".join(result.faults)
    for fault in ALL_FAULTS:
        assert (
            fault.replace("kafka", "Kafka")
            .replace("postgres", "PostgreSQL")
            .replace("redis", "Redis")
            in injected
        ), f"{fault} was not injected: {result.skipped}"
    figures = result.verdict.figures
    assert figures["accepted"] == orders and figures["completed"] and figures["cancelled"]
