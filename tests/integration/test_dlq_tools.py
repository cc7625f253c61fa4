"""The DLQ tools on the real stack: a dead letter produced to orders.dlq.v1 is listed by
the staff API, redriven back to its original topic with its history and audited; the
projector dead-letters its own poison messages and skips redrives meant for another group;
fault settings land in Redis; the metrics read the broker."""

from __future__ import annotations

import asyncio
import base64
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from aiokafka import AIOKafkaProducer

import contracts
from contracts import Attempt, DeadLetter, topics
from contracts import failures as wire
from harness.runner import Platform
from tests.integration.conftest import start_platform
from tests.integration.support import eventually, http, read_topic

pytestmark = pytest.mark.integration

ADMIN = ("it-admin", "it-admin-pw-7")
AUTH = {"Authorization": "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()}
#: Read only by the projector: a redriven or poison record here disturbs no worker.
TOPIC = topics.NOTIFICATIONS.name


@pytest.fixture(scope="module")
def platform(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    env = {**stack_env, "ADMIN_USERNAME": ADMIN[0], "ADMIN_PASSWORD": ADMIN[1]}
    running = start_platform(env, tmp_path_factory.mktemp("dlq"), ["gateway", "projector"])
    try:
        yield running
    finally:
        running.stop()


def bootstrap(platform: Platform) -> str:
    return platform.env["KAFKA_BOOTSTRAP_SERVERS"]


def send(
    platform: Platform, topic: str, key: bytes, value: bytes, headers: wire.Headers | None = None
) -> tuple[int, int]:
    async def go() -> tuple[int, int]:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap(platform), acks="all")
        await producer.start()
        try:
            meta = await producer.send_and_wait(topic, value, key=key, headers=headers or [])
            return meta.partition, meta.offset
        finally:
            await producer.stop()

    return asyncio.run(go())


def api(platform: Platform, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    status, _, answer = http(method, f"{platform.gateway_url}{path}", body, **AUTH)
    return status, answer


def listed(platform: Platform, **query: str) -> list[dict[str, Any]]:
    qs = "&".join(f"{k}={v}" for k, v in {**query, "limit": "500"}.items())
    status, page = api(platform, "GET", f"/api/ops/dlq?{qs}")
    assert status == 200, page
    return list(page["results"])


def test_a_dead_letter_is_listed_redriven_to_its_topic_with_its_history_and_audited(
    platform: Platform,
) -> None:
    # A platform group that is not running here: a redrive is honoured only when it names
    # a real group (``contracts.admission``); the projector must skip it.
    group = "saga"
    key = f"it-dlq-{uuid.uuid4()}".encode()
    first = Attempt(
        at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        topic=TOPIC,
        error_type="TimeoutError",
        error_message="first try",
    )
    letter = DeadLetter(
        correlation_id=key.decode(),
        original_topic=TOPIC,
        partition=0,
        offset=0,
        key=key,
        value=b'{"probe": "' + key + b'"}',
        headers=(("trace", b"t-1"),),
        consumer_group=group,
        error_type="TimeoutError",
        error_message="second try",
        failed_at=datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC),
        attempts=2,
        history=(first,),
    )
    dlq_headers = [
        (wire.DLQ_GROUP, group.encode()),
        (wire.DLQ_ORIGINAL_TOPIC, TOPIC.encode()),
        (wire.DLQ_ERROR_TYPE, b"TimeoutError"),
        (wire.DLQ_ATTEMPTS, b"2"),
    ]
    send(platform, topics.DLQ.name, key, contracts.encode(letter), dlq_headers)

    [row] = eventually(
        lambda: listed(platform, group=group), timeout=20, what="the dead letter in the API"
    )
    assert row["eventId"] == str(letter.event_id) and row["status"] == "pending"
    status, shown = api(platform, "GET", f"/api/ops/dlq/{row['id']}")
    assert status == 200 and shown["value"] == {"encoding": "json", "data": {"probe": key.decode()}}

    status, done = api(platform, "POST", f"/api/ops/dlq/{row['id']}/redrive")
    again, refused = api(platform, "POST", f"/api/ops/dlq/{row['id']}/redrive")

    assert status == 200 and done["status"] == "redriven" and done["resolvedBy"] == ADMIN[0]
    assert again == 409 and refused["type"] == "already_resolved"
    [record] = [r for r in read_topic(bootstrap(platform), TOPIC) if r.key == key]
    headers = wire.header_list(record.headers)
    assert record.value == letter.value
    assert wire.header(headers, "trace") == b"t-1"
    assert wire.header(headers, wire.REDRIVE_GROUP) == group.encode()
    assert wire.header(headers, wire.REDRIVE_ID) == str(letter.event_id).encode()
    history = wire.decode_history(wire.header(headers, wire.HISTORY))
    assert [a.error_message for a in history] == ["first try", "second try"]
    _, shown = api(platform, "GET", f"/api/ops/dlq/{row['id']}")
    [audit] = shown["audit"]
    assert (audit["action"], audit["actor"], audit["records"]) == (
        "redrive",
        ADMIN[0],
        [str(letter.event_id)],
    )

    # The redrive was for `group`: the projector skipped it rather than call it poison.
    # A poison message behind it on the same partition shows the projector got past it.
    partition, offset = send(platform, TOPIC, key, b"\x00behind")
    assert partition == record.partition
    eventually(
        lambda: [r for r in listed(platform, group="projector") if r["originalOffset"] == offset],
        timeout=20,
        what="the projector's dead letter of the poison message behind the redrive",
    )
    assert not [
        r
        for r in listed(platform, group="projector", topic=TOPIC)
        if r["originalOffset"] == record.offset and r["originalPartition"] == record.partition
    ]


def test_the_projector_dead_letters_a_poison_message_after_one_attempt(
    platform: Platform,
) -> None:
    key = f"it-poison-{uuid.uuid4()}".encode()
    partition, offset = send(platform, TOPIC, key, b"{not json", [("trace", b"p-1")])

    def in_dlq() -> list[Any]:
        return [r for r in read_topic(bootstrap(platform), topics.DLQ.name) if r.key == key]

    [record] = eventually(in_dlq, timeout=20, what="the poison message in orders.dlq.v1")
    headers = wire.header_list(record.headers)
    assert wire.header(headers, wire.DLQ_GROUP) == b"projector"
    assert wire.header(headers, wire.DLQ_ORIGINAL_TOPIC) == TOPIC.encode()
    assert wire.header(headers, wire.DLQ_ERROR_TYPE) == b"contracts.codec.ContractError"
    assert wire.header(headers, wire.DLQ_ATTEMPTS) == b"1"
    letter = contracts.decode_as(record.value, DeadLetter)
    assert (letter.original_topic, letter.partition, letter.offset) == (TOPIC, partition, offset)
    assert (letter.key, letter.value, letter.headers) == (key, b"{not json", (("trace", b"p-1"),))
    assert letter.attempts == 1 and len(letter.history) == 1 and letter.error_stack

    [row] = eventually(
        lambda: [
            r for r in listed(platform, group="projector") if r["eventId"] == str(letter.event_id)
        ],
        timeout=20,
        what="the projector's dead letter in the API",
    )
    assert row["errorType"] == "contracts.codec.ContractError"


def test_fault_settings_are_written_to_redis_for_the_workers(platform: Platform) -> None:
    client = redis.Redis.from_url(platform.env["REDIS_URL"])
    try:
        status, body = api(platform, "PUT", "/api/ops/faults/analytics", {"latencyMs": 5})
        assert status == 200, body
        stored = wire.decode_faults(client.hget(wire.FAULTS_KEY, "analytics") or b"")
        assert stored == wire.FaultSettings(latency_ms=5)
        status, body = api(platform, "GET", "/api/ops/faults")
        assert body["analytics"]["latencyMs"] == 5
        bad, problem = api(platform, "PUT", "/api/ops/faults/analytics", {"failureRate": 2})
        assert bad == 400 and problem["errors"][0]["field"] == "failureRate"
    finally:
        client.hdel(wire.FAULTS_KEY, "analytics")
        client.close()


def test_metrics_read_the_database_and_the_broker(platform: Platform) -> None:
    status, _, body = http("GET", f"{platform.gateway_url}/metrics/dlq")
    assert status == 200
    assert set(body["retries"]["byTier"]) == {t.name for t in topics.RETRY_TIERS}
    assert body["retries"]["error"] is None

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{platform.gateway_url}/metrics", timeout=10) as response:
        content_type = response.headers["Content-Type"]
        exposition = response.read().decode()
    assert content_type.startswith("text/plain; version=0.0.4")
    assert "gateway_metrics_broker_up 1" in exposition
    assert f'gateway_projector_lag{{topic="{TOPIC}",partition="0"}}' in exposition
