"""Figures read from the broker: records written to each retry tier, and a consumer
group's lag per partition. Bounded by a timeout: a scrape never hangs on a dead broker."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from kafka_admin.offsets import read_offsets


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
    offsets = await read_offsets(
        bootstrap,
        group,
        {*written_topics, *group_topics},
        request_timeout_ms=int(timeout_s * 1000),
    )
    written = {t: 0 for t in written_topics}
    for tp, end in offsets.ends.items():
        if tp.topic in written:
            written[tp.topic] += end
    lag = {(tp.topic, tp.partition): n for tp, n in offsets.lags(group_topics).items()}
    return KafkaFigures(written=written, lag=lag)
