"""Helpers for tests against the real stack: HTTP, topics, databases, waiting."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
from aiokafka import AIOKafkaProducer

from harness.ledger import read_topic as read_topic  # the one reader, re-exported
from kafka_admin.client import admin
from kafka_admin.offsets import Target, group_lags, rewind
from tests.support.waiting import eventually  # the one shared helper, re-exported

T = TypeVar("T")
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(
    method: str, url: str, body: Any = None, *, timeout: float = 10.0, **headers: str
) -> tuple[int, dict[str, str], Any]:
    """One JSON request; returns (status, headers, parsed body)."""
    data = (
        None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    )
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", headers.pop("content_type", "application/json"))
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with _DIRECT.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")


async def partitions_of(bootstrap: str, topic: str) -> list[int]:
    """The partition numbers of ``topic``, asked of the broker."""
    async with admin(bootstrap) as client:
        [described] = await client.describe_topics([topic])
    return sorted(p["partition"] for p in described["partitions"])


def produce(bootstrap: str, topic: str, key: bytes, value: bytes) -> tuple[int, int]:
    """Send one record with the default (murmur2) partitioner; returns (partition, offset)."""

    async def send() -> tuple[int, int]:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            meta = await producer.send_and_wait(topic, value, key=key)
            return meta.partition, meta.offset
        finally:
            await producer.stop()

    return asyncio.run(send())


def fresh_database(url: str) -> str:
    """A new, empty database on the server of ``url`` (PostgreSQL), or a new SQLite file."""
    parts = urlsplit(url)
    name = f"saga_it_{uuid.uuid4().hex[:10]}"
    if parts.scheme.startswith("sqlite"):
        return f"sqlite:////tmp/{name}.sqlite3"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def reset_group(bootstrap: str, group: str, topics: list[str], timeout: float = 60.0) -> None:
    """Move ``group``'s committed offsets on ``topics`` back to the beginning.

    The group must have no live members (stop its workers first): the commit is made
    by a consumer that assigns the partitions itself, without joining the group. The
    broker refuses it until stopped members have left (or their session expired), so
    it is retried until ``timeout`` (`kafka_admin.offsets`, as `sagactl replay` does).
    """
    asyncio.run(rewind([bootstrap], group, topics, Target("earliest"), timeout=timeout))


def start_at_the_end(bootstrap: str, group: str, topics: list[str], timeout: float = 60.0) -> None:
    """Commit ``group``'s offsets at the end of ``topics``: a new group then consumes only
    what is published after this (not earlier modules' records on the shared broker)."""
    asyncio.run(rewind([bootstrap], group, topics, Target("latest"), timeout=timeout))


def group_lag(bootstrap: str, group: str, topics: list[str]) -> int:
    """Messages on ``topics`` that ``group`` has not committed yet (all partitions)."""
    return sum(partition_lags(bootstrap, group, topics).values())


def caught_up(bootstrap: str, group: str, topics: list[str], timeout: float) -> None:
    """Wait until ``group`` has committed everything on ``topics``; on failure, name the
    partitions it is behind on and by how much."""
    behind: dict[str, int] = {}

    def idle() -> bool:
        behind.clear()
        behind.update(partition_lags(bootstrap, group, topics))
        return not behind

    try:
        eventually(idle, timeout=timeout, what=f"the {group} group to catch up", interval=0.5)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; still behind on {behind}") from None


def partition_lags(bootstrap: str, group: str, topics: list[str]) -> dict[str, int]:
    """``group``'s lag on each partition of ``topics`` that it has not caught up on,
    as ``{"topic[partition]": lag}``: what a failure message should show."""

    lags = asyncio.run(group_lags(bootstrap, group, topics))
    return {f"{tp.topic}[{tp.partition}]": n for tp, n in sorted(lags.items()) if n > 0}


Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]


def produce_paced(
    bootstrap: str, topic: str, records: list[Record], *, per_second: float
) -> list[tuple[int, int, int]]:
    """Send ``records`` (key, value, headers) in order at about ``per_second``, with the
    default partitioner; return each one's (partition, offset, timestamp ms)."""

    async def send() -> list[tuple[int, int, int]]:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
        await producer.start()
        try:
            started = time.monotonic()
            futures = []
            for n, (key, value, headers) in enumerate(records):
                ahead = started + n / per_second - time.monotonic()
                if ahead > 0:
                    await asyncio.sleep(ahead)  # pacing the load, not waiting for a result
                futures.append(await producer.send(topic, value, key=key, headers=headers))
            metas = [await f for f in futures]
            return [(m.partition, m.offset, m.timestamp) for m in metas]
        finally:
            await producer.stop()

    return asyncio.run(send())
