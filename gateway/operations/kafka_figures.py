"""Figures read from the broker: records written to each retry tier, and a consumer
group's lag per partition. Bounded by a timeout: a scrape never hangs on a dead broker."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


@dataclass(frozen=True)
class KafkaFigures:
    #: Records ever written to each topic (sum of its partitions' end offsets).
    written: dict[str, int] = field(default_factory=dict)
    #: The group's lag per (topic, partition): end offset minus committed offset.
    lag: dict[tuple[str, int], int] = field(default_factory=dict)
    #: Why the figures are missing, when the broker did not answer.
    error: str | None = None


def kafka_figures(
    bootstrap: list[str],
    *,
    written_topics: Sequence[str],
    group: str,
    group_topics: Sequence[str],
    timeout_s: float = 3.0,
) -> KafkaFigures:
    try:
        return asyncio.run(
            asyncio.wait_for(
                _read(bootstrap, written_topics, group, group_topics, timeout_s), timeout_s
            )
        )
    except Exception as exc:
        return KafkaFigures(error=f"{type(exc).__name__}: {exc}"[:300])


async def _read(
    bootstrap: list[str],
    written_topics: Sequence[str],
    group: str,
    group_topics: Sequence[str],
    timeout_s: float,
) -> KafkaFigures:
    timeout_ms = int(timeout_s * 1000)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=timeout_ms
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    await consumer.start()
    try:
        await admin.start()
        try:
            known = set(await admin.list_topics())
            wanted = sorted({*written_topics, *group_topics} & known)
            described = await admin.describe_topics(wanted) if wanted else []
            partitions = [
                TopicPartition(topic["topic"], p["partition"])
                for topic in described
                for p in topic["partitions"]
            ]
            ends = await consumer.end_offsets(partitions) if partitions else {}
            committed = await admin.list_consumer_group_offsets(group)
        finally:
            await admin.close()
    finally:
        await consumer.stop()
    written = {t: 0 for t in written_topics}
    lag: dict[tuple[str, int], int] = {}
    for tp, end in ends.items():
        if tp.topic in written:
            written[tp.topic] += end
        if tp.topic in group_topics:
            meta = committed.get(tp)
            done = meta.offset if meta is not None and meta.offset >= 0 else 0
            lag[(tp.topic, tp.partition)] = max(0, end - done)
    return KafkaFigures(written=written, lag=lag)
