"""Waiting for the broker before a worker starts (`streaming.startup`)."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import KafkaConnectionError

from harness.ports import free_port
from streaming.startup import probe_kafka, retry_until_done


def test_it_retries_with_doubling_delays_and_says_what_it_waits_for() -> None:
    failures = [KafkaConnectionError("Unable to bootstrap"), OSError("refused"), None, None]
    slept: list[float] = []
    said: list[str] = []

    def attempt() -> str:
        failure = failures.pop(0)
        if failure is not None:
            raise failure
        return "topics"

    result = retry_until_done(
        "Kafka at 127.0.0.1:1",
        attempt,
        initial=0.5,
        cap=0.8,
        sleep=slept.append,
        report=said.append,
    )
    assert result == "topics"
    assert slept == [0.5, 0.8]
    assert said[0].startswith("waiting for Kafka at 127.0.0.1:1 (KafkaConnectionError")
    assert said[0].endswith("retrying in 0.5s")
    assert said[1] == "waiting for Kafka at 127.0.0.1:1 (OSError: refused); retrying in 0.8s"
    assert said[2] == "Kafka at 127.0.0.1:1 answers; starting"


def test_no_report_when_it_answers_at_once() -> None:
    said: list[str] = []
    assert retry_until_done("x", lambda: 1, sleep=pytest.fail, report=said.append) == 1
    assert said == []


def test_the_probe_fails_when_no_broker_listens() -> None:
    with pytest.raises((KafkaConnectionError, OSError, TimeoutError)):
        asyncio.run(probe_kafka(f"127.0.0.1:{free_port()}", timeout=3))
