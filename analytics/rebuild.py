"""Rebuild analytics from the retained events: ``python -m analytics rebuild``.

With every analytics worker stopped, it

1. deletes the group's table changelogs (``<group>-<table>-changelog``), so the tables
   start empty (a worker recreates its changelogs at start, ``streaming.cli``);
2. moves the group's offsets on its inputs (orders, outcomes, page views) to the
   beginning, and on ``analytics.minutes.v1`` to the end: the old shares are not merged
   again, the rebuilt counts publish new ones.

Started again, the workers count every retained event again and publish the same
windows with the same counts (counting is deterministic per partition, see
``analytics.domain``), then new snapshots. Events older than the topics' retention
are gone, and with them the counts of their windows.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Mapping, Sequence

from aiokafka import TopicPartition

from analytics.agent import INPUTS
from analytics.app import create_app
from analytics.settings import AnalyticsSettings, load
from contracts import topics
from kafka_admin.client import offsets_consumer
from kafka_admin.offsets import LiveMembers, commit_offsets
from kafka_admin.topics import delete_topics_async
from streaming.internal_topics import internal_topics


def changelogs(settings: AnalyticsSettings) -> list[str]:
    """The names of the group's table changelogs."""
    return [spec.name for spec in internal_topics(create_app(settings))]


async def rebuild(
    settings: AnalyticsSettings,
    *,
    starts: Mapping[TopicPartition, int] | None = None,
    timeout: float = 60.0,
) -> None:
    """Delete the changelogs and reset the offsets (see the module docstring).

    ``starts`` replaces "the beginning" of some input partitions (a test that shares its
    broker with others rewinds to where its group started). Raises ``TimeoutError`` if
    the group still has live members after ``timeout`` seconds.
    """
    bootstrap = settings.platform.bootstrap_list
    deadline = time.monotonic() + timeout
    await _reset_offsets(settings, starts or {}, deadline)
    await delete_topics_async(
        bootstrap, changelogs(settings), timeout=max(0.0, deadline - time.monotonic())
    )


async def _reset_offsets(
    settings: AnalyticsSettings, starts: Mapping[TopicPartition, int], deadline: float
) -> None:
    count = settings.platform.topic_partitions
    bootstrap = settings.platform.bootstrap_list
    inputs = [TopicPartition(t.name, p) for t in INPUTS for p in range(count)]
    shares = [TopicPartition(topics.MINUTES.name, p) for p in range(count)]
    async with offsets_consumer(bootstrap) as consumer:
        offsets = await consumer.beginning_offsets(inputs)
        offsets.update({tp: at for tp, at in starts.items() if tp in offsets})
        offsets.update(await consumer.end_offsets(shares))
    try:
        await commit_offsets(
            bootstrap, settings.group, offsets, timeout=max(0.0, deadline - time.monotonic())
        )
    except LiveMembers as exc:
        raise TimeoutError(f"{exc}: stop its workers") from exc


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of ``python -m analytics rebuild``."""
    parser = argparse.ArgumentParser(
        prog="python -m analytics rebuild",
        description="Reset the analytics group's tables and offsets (stop its workers first).",
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait (60)")
    args = parser.parse_args(argv)
    settings = load()
    asyncio.run(rebuild(settings, timeout=args.timeout))
    print(
        f"analytics group {settings.group!r}: changelogs deleted, offsets reset; "
        "start the workers to rebuild."
    )
    return 0
