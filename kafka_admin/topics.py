"""The platform's Kafka topics: create the missing ones (`ensure_topics`), describe them,
delete some and wait until the broker has forgotten them (`delete_topics`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import for_code

from contracts.topics import ALL_TOPICS, TopicSpec
from kafka_admin.client import Bootstrap, admin

T = TypeVar("T")

#: The request timeout of the topic admin's requests.
REQUEST_TIMEOUT_MS = 30000

TOPIC_ALREADY_EXISTS = 36
#: DescribeConfigs ``config_source`` of a value set on the topic itself.
DYNAMIC_TOPIC_CONFIG = 1


@dataclass(frozen=True)
class TopicInfo:
    """What the broker says about one topic."""

    name: str
    partitions: int
    replication_factor: int
    #: Every config value of the topic (defaults included).
    configs: dict[str, str] = field(default_factory=dict)
    #: The names of the configs set on the topic itself rather than inherited.
    overrides: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Mismatch:
    """An existing topic whose partition count differs from the wanted one."""

    topic: str
    actual: int
    wanted: int


class PartitionMismatch(RuntimeError):
    """Existing topics have another partition count than wanted; they were left alone."""

    def __init__(self, mismatches: Sequence[Mismatch]) -> None:
        self.mismatches = list(mismatches)
        lines = "\n".join(
            f"  {m.topic}: has {m.actual} partitions, wanted {m.wanted}" for m in self.mismatches
        )
        super().__init__(
            "existing topics have the wrong partition count (left unchanged):\n"
            f"{lines}\n"
            "Saga topics must all have the same partition count (co-partitioning). Use a "
            "fresh broker, delete these topics, or set TOPIC_PARTITIONS to match."
        )


def plan_topics(
    specs: Iterable[TopicSpec], existing: dict[str, int], partitions: int | None = None
) -> tuple[list[TopicSpec], list[Mismatch]]:
    """Split ``specs`` into topics to create and existing topics with the wrong size.

    ``existing`` maps topic name to its partition count; ``partitions``, when given,
    overrides every spec's own count.
    """
    to_create: list[TopicSpec] = []
    mismatches: list[Mismatch] = []
    for spec in specs:
        wanted = partitions if partitions is not None else spec.partitions
        if spec.name not in existing:
            to_create.append(TopicSpec(spec.name, wanted, dict(spec.configs)))
        elif existing[spec.name] != wanted:
            mismatches.append(Mismatch(spec.name, existing[spec.name], wanted))
    return to_create, mismatches


async def wait_for_broker_async(bootstrap: str, timeout: float = 60.0) -> None:
    """Wait until the broker answers a metadata request; ``TimeoutError`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            async with admin(bootstrap, request_timeout_ms=5000) as client:
                await client.describe_cluster()
            return
        except Exception as exc:
            last = exc
        await asyncio.sleep(0.2)
    raise TimeoutError(f"no Kafka broker answered at {bootstrap} within {timeout:.0f}s: {last!r}")


async def ensure_topics_async(
    bootstrap: str,
    specs: Iterable[TopicSpec] = ALL_TOPICS,
    partitions: int | None = None,
    *,
    replication_factor: int = 1,
    min_insync_replicas: int | None = None,
    timeout: float = 30.0,
) -> list[str]:
    """Create the missing topics and return their names; existing topics are left alone.

    Each has ``replication_factor`` replicas; with more than one, a write needs
    ``min_insync_replicas`` of them (default: 2 of 3 or more, 1 of 2), set on the topic.

    Raises :class:`PartitionMismatch` (after creating the missing ones) when an existing
    topic has another partition count than wanted. Returns once every created topic
    has all its partitions in the broker's metadata.
    """
    specs = list(specs)
    async with admin(bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS) as client:
        existing = await _partition_counts(client, await client.list_topics())
        to_create, mismatches = plan_topics(specs, existing, partitions)
        created: list[str] = []
        if to_create:
            extra: dict[str, str] = {}
            if replication_factor > 1:
                min_isr = min_insync_replicas or max(1, min(2, replication_factor - 1))
                extra["min.insync.replicas"] = str(min_isr)
            response = await client.create_topics(
                [
                    NewTopic(
                        s.name,
                        s.partitions,
                        replication_factor,
                        topic_configs={**extra, **s.configs},
                    )
                    for s in to_create
                ],
                timeout_ms=int(timeout * 1000),
            )
            raced: list[str] = []
            for topic, code, *rest in response.topic_errors:
                if code == 0:
                    created.append(topic)
                elif code == TOPIC_ALREADY_EXISTS:
                    raced.append(topic)
                else:
                    message = rest[0] if rest else ""
                    raise for_code(code)(f"creating topic {topic!r} failed: {message}")
            if raced:  # created by someone else since we listed: check their size too
                counts = await _partition_counts(client, raced)
                mismatches += plan_topics([s for s in to_create if s.name in raced], counts)[1]
            await _wait_for_partitions(
                client, {s.name: s.partitions for s in to_create if s.name in created}, timeout
            )
        if mismatches:
            raise PartitionMismatch(mismatches)
        await _wait_for_group_coordinator(client, timeout)
        return created


async def _wait_for_group_coordinator(admin: AIOKafkaAdminClient, timeout: float) -> None:
    """Wait until the broker can coordinate consumer groups.

    A fresh broker creates its offsets topic on the first group request; until then every
    consumer that starts logs ``GroupCoordinatorNotAvailableError`` and retries. Asking
    here, once, lets the services start against a broker that is ready for them.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            await admin.find_coordinator("sagactl")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.1)  # poll interval while the offsets topic is created


async def describe_topics_async(
    bootstrap: str, names: Iterable[str] | None = None
) -> list[TopicInfo]:
    """Partitions, replication factor and configs of ``names`` (default: all but internal)."""
    async with admin(bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS) as client:
        metadata = await client.describe_topics(list(names) if names is not None else None)
        topics = sorted(
            (t for t in metadata if not t.get("is_internal") and not t["topic"].startswith("__")),
            key=lambda t: t["topic"],
        )
        for t in topics:
            if t["error_code"]:
                raise for_code(t["error_code"])(f"describing topic {t['topic']!r} failed")
        configs = await _configs(client, [t["topic"] for t in topics])
        return [
            TopicInfo(
                name=t["topic"],
                partitions=len(t["partitions"]),
                replication_factor=len(t["partitions"][0]["replicas"]) if t["partitions"] else 0,
                configs=configs.get(t["topic"], ({}, frozenset()))[0],
                overrides=configs.get(t["topic"], ({}, frozenset()))[1],
            )
            for t in topics
        ]


async def list_topics_async(bootstrap: Bootstrap) -> set[str]:
    """The names of every topic on the broker."""
    async with admin(bootstrap) as client:
        return set(await client.list_topics())


async def delete_topics_async(
    bootstrap: Bootstrap, names: Iterable[str], *, timeout: float = 60.0
) -> list[str]:
    """Delete those of ``names`` that exist and wait until the broker no longer lists them
    (deletion is asynchronous); return the deleted names. ``TimeoutError`` after
    ``timeout`` seconds."""
    wanted = list(names)
    async with admin(bootstrap) as client:
        existing = set(await client.list_topics())
        doomed = [name for name in wanted if name in existing]
        if doomed:
            await client.delete_topics(doomed)
        deadline = time.monotonic() + timeout
        while set(doomed) & set(await client.list_topics()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics {doomed} not deleted within {timeout:.0f}s")
            await asyncio.sleep(0.2)  # poll interval while the broker deletes them
    return doomed


def wait_for_broker(bootstrap: str, timeout: float = 60.0) -> None:
    """Blocking :func:`wait_for_broker_async`."""
    _run(wait_for_broker_async(bootstrap, timeout))


def ensure_topics(
    bootstrap: str,
    specs: Iterable[TopicSpec] = ALL_TOPICS,
    partitions: int | None = None,
    *,
    replication_factor: int = 1,
    min_insync_replicas: int | None = None,
    timeout: float = 30.0,
) -> list[str]:
    """Blocking :func:`ensure_topics_async`."""
    return _run(
        ensure_topics_async(
            bootstrap,
            specs,
            partitions,
            replication_factor=replication_factor,
            min_insync_replicas=min_insync_replicas,
            timeout=timeout,
        )
    )


def describe_topics(bootstrap: str, names: Iterable[str] | None = None) -> list[TopicInfo]:
    """Blocking :func:`describe_topics_async`."""
    return _run(describe_topics_async(bootstrap, names))


def delete_topics(
    bootstrap: Bootstrap, names: Iterable[str], *, timeout: float = 60.0
) -> list[str]:
    """Blocking :func:`delete_topics_async`."""
    return _run(delete_topics_async(bootstrap, names, timeout=timeout))


async def _partition_counts(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    if not names:
        return {}
    metadata = await admin.describe_topics(names)
    return {t["topic"]: len(t["partitions"]) for t in metadata if t["error_code"] == 0}


async def _wait_for_partitions(
    admin: AIOKafkaAdminClient, wanted: dict[str, int], timeout: float
) -> None:
    """Wait until the broker's metadata shows each new topic with every partition led."""
    deadline = time.monotonic() + timeout
    while wanted:
        metadata = await admin.describe_topics(list(wanted))
        ready = {
            t["topic"]
            for t in metadata
            if t["error_code"] == 0
            and len(t["partitions"]) == wanted[t["topic"]]
            and all(p["leader"] >= 0 for p in t["partitions"])
        }
        wanted = {name: n for name, n in wanted.items() if name not in ready}
        if not wanted:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"topics not ready after {timeout:.0f}s: {', '.join(sorted(wanted))}"
            )
        await asyncio.sleep(0.1)


async def _configs(
    admin: AIOKafkaAdminClient, names: list[str]
) -> dict[str, tuple[dict[str, str], frozenset[str]]]:
    if not names:
        return {}
    responses = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    )
    result: dict[str, tuple[dict[str, str], frozenset[str]]] = {}
    for response in responses:
        for resource in response.to_object()["resources"]:
            entries = resource["config_entries"]
            values = {e["config_names"]: e["config_value"] for e in entries}
            overrides = frozenset(
                e["config_names"]
                for e in entries
                if e.get("config_source", -1) == DYNAMIC_TOPIC_CONFIG
                or e.get("is_default") is False
            )
            result[resource["resource_name"]] = (values, overrides)
    return result


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion, also from code already inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
