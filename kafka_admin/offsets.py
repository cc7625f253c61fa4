"""Consumer-group offsets: read committed and end offsets and the lag, plan a reset, commit
the new ones.

One implementation of "read a group's lag" (the dashboard, the operations page, the
tests) and of "move a group's offsets" for every caller: `sagactl replay`,
`python -m analytics rebuild` and the integration tests. The planning is pure
(:func:`plan_reset`); the broker parts use aiokafka's admin client and a consumer that
assigns partitions itself (it never joins the group, so it cannot steal work).

The broker refuses an offset commit from outside while the group has live members
(``UnknownMemberId`` / ``IllegalGeneration``): that is Kafka's own guard against
rewinding a group under running workers, and :func:`commit_offsets` keeps it.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CommitFailedError, IllegalGenerationError, UnknownMemberIdError

from kafka_admin.client import Bootstrap, admin, offsets_consumer, servers
from kafka_admin.groups import Member, describe_group

#: The request timeout of the admin requests made here.
REQUEST_TIMEOUT_MS = 15000

TargetKind = Literal["earliest", "latest", "timestamp", "offset", "shift"]


@dataclass(frozen=True)
class Target:
    """Where to move each partition: the ``earliest`` or ``latest`` retained offset, the
    first offset at or after ``timestamp`` (ms since the epoch), an absolute ``offset``,
    or the committed offset ``shift``-ed by ``value`` (negative: back)."""

    kind: TargetKind
    value: int = 0

    def describe(self) -> str:
        if self.kind in ("earliest", "latest"):
            return self.kind
        return f"{self.kind} {self.value}"


@dataclass(frozen=True)
class Position:
    """What the broker knows about one partition for one group."""

    topic: str
    partition: int
    #: The group's committed offset; None when it never committed on this partition.
    committed: int | None
    earliest: int
    latest: int
    #: The first offset at or after the target timestamp (None: none that late).
    at_time: int | None = None


@dataclass(frozen=True)
class PlannedReset:
    """One row of the dry-run table."""

    topic: str
    partition: int
    committed: int | None
    target: int
    latest: int

    @property
    def lag(self) -> int:
        """Messages the group will (re)read from the target to the end."""
        return self.latest - self.target

    @property
    def moved(self) -> int | None:
        """How far the target is from the committed offset (negative: rewound)."""
        return None if self.committed is None else self.target - self.committed


def target_offset(target: Target, position: Position) -> int:
    """Where ``target`` puts one partition, clamped to its retained range."""
    if target.kind == "earliest":
        wanted = position.earliest
    elif target.kind == "latest":
        wanted = position.latest
    elif target.kind == "timestamp":
        wanted = position.latest if position.at_time is None else position.at_time
    elif target.kind == "offset":
        wanted = target.value
    else:  # shift
        base = position.committed if position.committed is not None else position.earliest
        wanted = base + target.value
    return max(position.earliest, min(position.latest, wanted))


def plan_reset(target: Target, positions: Iterable[Position]) -> list[PlannedReset]:
    """The new offset of every partition, sorted by topic and partition."""
    return [
        PlannedReset(p.topic, p.partition, p.committed, target_offset(target, p), p.latest)
        for p in sorted(positions, key=lambda p: (p.topic, p.partition))
    ]


def render_plan(rows: Sequence[PlannedReset]) -> str:
    """A plain-text table of a planned reset, with a total line."""
    header = ["topic", "partition", "committed", "target", "moved", "lag after"]
    body = [
        [
            r.topic,
            str(r.partition),
            "-" if r.committed is None else str(r.committed),
            str(r.target),
            "-" if r.moved is None else f"{r.moved:+d}",
            str(r.lag),
        ]
        for r in rows
    ]
    total = ["total", "", "", "", "", str(sum(r.lag for r in rows))]
    table = [header, *body, total]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    right = {1, 2, 3, 4, 5}
    return "\n".join(
        "  ".join(
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in table
    )


def lag(end: int, committed: int | None) -> int:
    """Messages after ``committed`` up to ``end`` (no commit, or a negative one: all)."""
    return max(0, end - (committed if committed is not None and committed >= 0 else 0))


async def committed_offsets(
    client: AIOKafkaAdminClient,
    group: str,
    partitions: Sequence[TopicPartition] | None = None,
) -> dict[TopicPartition, int]:
    """``group``'s committed offset on each of ``partitions`` (default: every partition it
    committed on); a partition without a commit is left out."""
    found = await client.list_consumer_group_offsets(
        group, partitions=list(partitions) if partitions is not None else None
    )
    return {tp: meta.offset for tp, meta in found.items() if meta.offset >= 0}


async def topic_partitions(
    client: AIOKafkaAdminClient, topics: Iterable[str], *, missing: str = "raise"
) -> list[TopicPartition]:
    """Every partition of ``topics``; a topic the broker does not know raises
    ``LookupError`` (``missing="raise"``) or is left out (``missing="skip"``)."""
    names = list(topics)
    described = await client.describe_topics(names) if names else []
    unknown = [t["topic"] for t in described if t["error_code"]]
    if unknown and missing == "raise":
        raise LookupError(f"no such topic: {', '.join(sorted(unknown))}")
    return [
        TopicPartition(t["topic"], p["partition"])
        for t in described
        if not t["error_code"]
        for p in t["partitions"]
    ]


@dataclass(frozen=True)
class GroupOffsets:
    """End offsets of some partitions, and a group's committed offsets."""

    ends: dict[TopicPartition, int]
    committed: dict[TopicPartition, int]

    def lags(self, topics: Iterable[str] | None = None) -> dict[TopicPartition, int]:
        """The lag on every partition (of ``topics``, when given) whose end is known."""
        wanted = None if topics is None else set(topics)
        return {
            tp: lag(end, self.committed.get(tp))
            for tp, end in self.ends.items()
            if wanted is None or tp.topic in wanted
        }


async def read_offsets(
    bootstrap: Bootstrap,
    group: str,
    topics: Iterable[str],
    *,
    request_timeout_ms: int | None = None,
) -> GroupOffsets:
    """The end offset of every partition of those of ``topics`` that exist, and
    ``group``'s committed offsets."""
    async with (
        offsets_consumer(bootstrap, request_timeout_ms=request_timeout_ms) as consumer,
        admin(bootstrap, request_timeout_ms=request_timeout_ms) as client,
    ):
        known = set(await client.list_topics())
        partitions = await topic_partitions(client, sorted(set(topics) & known))
        ends = await consumer.end_offsets(partitions) if partitions else {}
        committed = await committed_offsets(client, group)
    return GroupOffsets(dict(ends), committed)


async def group_lags(
    bootstrap: Bootstrap, group: str, topics: Iterable[str]
) -> dict[TopicPartition, int]:
    """``group``'s lag on every partition of those of ``topics`` that exist: the end
    offset minus the committed one (all of it where the group never committed)."""
    return (await read_offsets(bootstrap, group, topics)).lags()


async def committed_topics(bootstrap: Bootstrap, group: str) -> list[str]:
    """The topics on which ``group`` has committed offsets, sorted."""
    async with admin(bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS) as client:
        offsets = await committed_offsets(client, group)
    return sorted({tp.topic for tp in offsets})


async def read_positions(
    bootstrap: Bootstrap,
    group: str,
    topics: Sequence[str],
    *,
    timestamp_ms: int | None = None,
) -> list[Position]:
    """Committed, earliest and latest offsets of ``group`` on every partition of
    ``topics`` (and the offset at ``timestamp_ms`` when given)."""
    async with (
        admin(bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS) as client,
        offsets_consumer(bootstrap) as consumer,
    ):
        partitions = await topic_partitions(client, topics)
        committed = await committed_offsets(client, group, partitions)
        earliest = await consumer.beginning_offsets(partitions)
        latest = await consumer.end_offsets(partitions)
        at_time: Mapping[TopicPartition, object] = {}
        if timestamp_ms is not None:
            at_time = await consumer.offsets_for_times({tp: timestamp_ms for tp in partitions})
        return [
            Position(
                tp.topic,
                tp.partition,
                committed.get(tp),
                earliest[tp],
                latest[tp],
                getattr(at_time.get(tp), "offset", None),
            )
            for tp in partitions
        ]


class LiveMembers(RuntimeError):
    """The group still has live members; the broker refuses commits from outside."""

    def __init__(self, group: str, members: Sequence[Member] = ()) -> None:
        self.group = group
        self.members = list(members)
        names = ", ".join(f"{m.client_id}@{m.host}" for m in self.members) or "unknown members"
        super().__init__(f"group {group!r} still has live members: {names}")


async def commit_offsets(
    bootstrap: Bootstrap,
    group: str,
    offsets: Mapping[TopicPartition, int],
    *,
    timeout: float = 60.0,
) -> None:
    """Commit ``offsets`` for ``group`` without joining it.

    Retries while the broker refuses because members are still leaving (a worker that
    was just stopped, or one whose session has not expired yet); raises `LiveMembers`
    naming them after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=servers(bootstrap), group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            consumer.assign(list(offsets))
            await consumer.commit(dict(offsets))
            return
        except (CommitFailedError, UnknownMemberIdError, IllegalGenerationError) as exc:
            if time.monotonic() > deadline:
                members = (await describe_group(bootstrap, group)).members
                raise LiveMembers(group, members) from exc
        finally:
            await consumer.stop()
        await asyncio.sleep(0.5)  # poll interval while stopped members leave the group


async def rewind(
    bootstrap: Bootstrap,
    group: str,
    topics: Sequence[str],
    target: Target = Target("earliest"),
    *,
    timeout: float = 60.0,
) -> list[PlannedReset]:
    """Plan and commit a reset of ``group`` on every partition of ``topics``."""
    positions = await read_positions(
        bootstrap, group, topics, timestamp_ms=target.value if target.kind == "timestamp" else None
    )
    rows = plan_reset(target, positions)
    await commit_offsets(
        bootstrap,
        group,
        {TopicPartition(r.topic, r.partition): r.target for r in rows},
        timeout=timeout,
    )
    return rows


def group_of_record(key: bytes) -> tuple[str, str | None, int | None] | None:
    """``(group, topic, partition)`` of a ``__consumer_offsets`` record's key: an offset
    commit (key versions 0 and 1), or a group's metadata (version 2: topic and partition
    None); None for a key of another version or too short to hold a group."""
    if len(key) < 4:
        return None
    (version,) = struct.unpack_from(">h", key, 0)
    group, at = _short(key, 2)
    if version == 2:
        return group, None, None
    if version not in (0, 1):
        return None
    topic, at = _short(key, at)
    (partition,) = struct.unpack_from(">i", key, at)
    return group, topic, partition


def decode_commit(key: bytes, value: bytes | None) -> tuple[str, str, int, int | None] | None:
    """``(group, topic, partition, offset)`` of an offset-commit record of
    ``__consumer_offsets`` (offset None: a tombstone); None for group metadata."""
    found = group_of_record(key)
    if found is None or found[1] is None or found[2] is None:
        return None
    offset = None if value is None else struct.unpack_from(">q", value, 2)[0]
    return found[0], found[1], found[2], offset


def _short(data: bytes, at: int) -> tuple[str, int]:
    (size,) = struct.unpack_from(">h", data, at)
    at += 2
    return data[at : at + size].decode(errors="replace"), at + size
