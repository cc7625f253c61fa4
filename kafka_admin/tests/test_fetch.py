"""``kafka_admin.fetch``: the consumer arguments of a coalesced fetch, and setting them on
a consumer aiokafka made (no broker needed: nothing here starts it)."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer

from kafka_admin import fetch


def test_a_wait_asks_for_more_bytes_than_the_wait_brings() -> None:
    assert fetch.coalesced(100) == {"fetch_min_bytes": fetch.MIN_BYTES, "fetch_max_wait_ms": 100}


def test_no_wait_answers_on_the_first_byte() -> None:
    assert fetch.coalesced(0) == {"fetch_min_bytes": 1}


def test_a_negative_wait_is_refused() -> None:
    with pytest.raises(ValueError, match="-1"):
        fetch.coalesced(-1)


async def test_apply_sets_what_the_fetcher_is_started_with() -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1")
    assert (consumer._fetch_min_bytes, consumer._fetch_max_wait_ms) == (1, 500)
    fetch.apply(consumer, 250)
    assert (consumer._fetch_min_bytes, consumer._fetch_max_wait_ms) == (fetch.MIN_BYTES, 250)
    # The same arguments given to the constructor give the same consumer.
    made = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1", **fetch.coalesced(250))
    assert (made._fetch_min_bytes, made._fetch_max_wait_ms) == (fetch.MIN_BYTES, 250)


def test_apply_fails_loudly_when_aiokafka_renamed_its_settings() -> None:
    class Renamed:
        pass

    with pytest.raises(RuntimeError, match="_fetch_min_bytes"):
        fetch.apply(Renamed(), 100)
