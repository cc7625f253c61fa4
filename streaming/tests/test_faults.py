"""Failure injection settings and their effect on attempts, without a broker."""

from __future__ import annotations

import random

import pytest

from contracts.failures import FaultSettings, encode_faults
from streaming import faults
from streaming.faults import FaultInjector, InjectedFault
from streaming.settings import fault_settings


def test_settings_come_from_the_service_environment() -> None:
    env = {"PAYMENT_FAULT_RATE": "0.25", "PAYMENT_FAULT_LATENCY_MS": "40"}
    assert fault_settings("payment", env) == FaultSettings(failure_rate=0.25, latency_ms=40)
    assert fault_settings("inventory", env) == FaultSettings()
    with pytest.raises(ValueError, match="PAYMENT_FAULT_"):
        fault_settings("payment", {"PAYMENT_FAULT_RATE": "2"})
    with pytest.raises(ValueError, match="PAYMENT_FAULT_"):
        fault_settings("payment", {"PAYMENT_FAULT_FAIL_ATTEMPTS": "many"})


async def test_the_first_n_attempts_fail_then_the_event_goes_through() -> None:
    injector = FaultInjector("payment", FaultSettings(fail_attempts=2))
    for attempt in (1, 2):
        with pytest.raises(InjectedFault, match=f"attempt {attempt}"):
            await injector.before(attempt)
    await injector.before(3)


async def test_a_failure_rate_fails_about_that_share_of_attempts() -> None:
    injector = FaultInjector("payment", FaultSettings(failure_rate=0.3), random.Random(5))
    failed = 0
    for _ in range(1000):
        try:
            await injector.before(1)
        except InjectedFault:
            failed += 1
    assert 250 < failed < 350


async def test_added_latency_waits_before_the_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(faults.asyncio, "sleep", sleep)
    await FaultInjector("saga", FaultSettings(latency_ms=250)).before(1)
    await FaultInjector("saga", FaultSettings()).before(1)
    assert slept == [0.25]


def test_runtime_settings_replace_the_defaults_and_bad_ones_are_ignored() -> None:
    default = FaultSettings(latency_ms=5)
    injector = FaultInjector("payment", default)
    injector.update(encode_faults(FaultSettings(failure_rate=1.0)), default)
    assert injector.settings == FaultSettings(failure_rate=1.0)
    injector.update(b'{"failureRate": 7}', default)  # invalid: the last good ones stay
    assert injector.settings == FaultSettings(failure_rate=1.0)
    injector.update(None, default)  # cleared in Redis: back to the environment's
    assert injector.settings == default
