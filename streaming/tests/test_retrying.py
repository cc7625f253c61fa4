"""Retry decisions without a broker: classification, backoff tiers, headers, DLQ records."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
import redis

from contracts import ContractError
from streaming.faults import InjectedFault
from streaming.retrying import PermanentError, RetryPolicy, TransientError, is_transient
from streaming.settings import StreamingSettings

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "exc",
    [
        TransientError("x"),
        InjectedFault("x"),
        TimeoutError(),
        ConnectionRefusedError(),
        redis.exceptions.ConnectionError("down"),
        redis.exceptions.TimeoutError("slow"),
    ],
)
def test_dependency_failures_are_transient(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc", [ContractError("bad"), PermanentError("rule"), ValueError("x"), KeyError("k")]
)
def test_invalid_data_and_bugs_are_permanent(exc: BaseException) -> None:
    assert not is_transient(exc)


def test_three_tiers_then_the_dead_letter_queue() -> None:
    policy = RetryPolicy()
    assert [policy.tier_after(n) for n in (1, 2, 3, 4)] == [0, 1, 2, None]
    assert RetryPolicy(delays=(2.0,)).tier_after(2) is None


def test_delays_are_the_tier_delay_within_the_jitter() -> None:
    policy = RetryPolicy(delays=(1.0, 4.0, 16.0), jitter=0.1)
    rng = random.Random(3)
    for tier, base in enumerate(policy.delays):
        drawn = [policy.delay(tier, rng) for _ in range(200)]
        assert all(base * 0.9 <= d <= base * 1.1 for d in drawn)
        assert max(drawn) - min(drawn) > base * 0.1  # jitter does spread them


def test_delays_come_from_the_environment_with_clear_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RETRY_DELAYS", "0.5, 2")
    assert StreamingSettings.from_env("payment").retry_policy.delays == (0.5, 2.0)
    monkeypatch.setenv("RETRY_DELAYS", "1,x")
    with pytest.raises(ValueError, match="RETRY_DELAYS"):
        StreamingSettings.from_env("payment")
    monkeypatch.setenv("RETRY_DELAYS", "1,2,3,4")
    with pytest.raises(ValueError, match="at most 3 tiers"):
        StreamingSettings.from_env("payment")
    monkeypatch.setenv("RETRY_DELAYS", "1,0")
    with pytest.raises(ValueError, match="positive"):
        StreamingSettings.from_env("payment")
