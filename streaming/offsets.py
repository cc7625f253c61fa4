"""Consumer-group offsets: read them, plan a reset, see who is live, commit the new ones.

One implementation of "move a group's offsets" for every caller: `sagactl replay`,
`python -m analytics rebuild` and the integration tests. The planning is pure
(:func:`plan_reset`); the broker parts use aiokafka's admin client and a consumer that
assigns partitions itself (it never joins the group, so it cannot steal work).

The broker refuses an offset commit from outside while the group has live members
(``UnknownMemberId`` / ``IllegalGeneration``): that is Kafka's own guard against
rewinding a group under running workers, and :func:`commit_offsets` keeps it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.errors import CommitFailedError, IllegalGenerationError, UnknownMemberIdError

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


@dataclass(frozen=True)
class Member:
    """A live member of a consumer group, as the broker describes it."""

    member_id: str
    client_id: str
    host: str
    #: The partitions the broker's last assignment gave it, as ``(topic, partition)``.
    assignment: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class GroupState:
    group: str
    #: ``Stable``, ``Empty``, ``PreparingRebalance``, ``CompletingRebalance``, ``Dead``.
    state: str
    members: tuple[Member, ...]


def decode_assignment(raw: bytes) -> tuple[tuple[str, int], ...]:
    """The partitions in a consumer-protocol member assignment (empty if there is none)."""
    if not raw:
        return ()
    assignment = ConsumerProtocolMemberAssignment.decode(raw)
    return tuple(
        sorted((topic, partition) for topic, parts in assignment.assignment for partition in parts)
    )


def _admin(bootstrap: Sequence[str]) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(bootstrap_servers=list(bootstrap), request_timeout_ms=15000)


async def describe_group(bootstrap: Sequence[str], group: str) -> GroupState:
    """The group's state and live members with their assignments (DescribeGroups)."""
    admin = _admin(bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    [described] = response.groups
    # (error_code, group_id, state, protocol_type, protocol, members[, authorized_ops])
    state = described[2]
    members = tuple(
        Member(m[0], m[-4], m[-3], decode_assignment(m[-1]))
        for m in described[5]  # (member_id, [instance_id,] client_id, host, metadata, assignment)
    )
    return GroupState(group, state, members)


async def committed_topics(bootstrap: Sequence[str], group: str) -> list[str]:
    """The topics on which ``group`` has committed offsets, sorted."""
    admin = _admin(bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sorted({tp.topic for tp, meta in offsets.items() if meta.offset >= 0})


async def read_positions(
    bootstrap: Sequence[str],
    group: str,
    topics: Sequence[str],
    *,
    timestamp_ms: int | None = None,
) -> list[Position]:
    """Committed, earliest and latest offsets of ``group`` on every partition of
    ``topics`` (and the offset at ``timestamp_ms`` when given)."""
    admin = _admin(bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=list(bootstrap), enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        described = await admin.describe_topics(list(topics))
        missing = [t["topic"] for t in described if t["error_code"]]
        if missing:
            raise LookupError(f"no such topic: {', '.join(sorted(missing))}")
        partitions = [
            TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]
        ]
        committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
        earliest = await consumer.beginning_offsets(partitions)
        latest = await consumer.end_offsets(partitions)
        at_time: Mapping[TopicPartition, object] = {}
        if timestamp_ms is not None:
            at_time = await consumer.offsets_for_times({tp: timestamp_ms for tp in partitions})
        positions = []
        for tp in partitions:
            meta = committed.get(tp)
            found = at_time.get(tp)
            positions.append(
                Position(
                    tp.topic,
                    tp.partition,
                    meta.offset if meta is not None and meta.offset >= 0 else None,
                    earliest[tp],
                    latest[tp],
                    getattr(found, "offset", None),
                )
            )
        return positions
    finally:
        await consumer.stop()
        await admin.close()


class LiveMembers(RuntimeError):
    """The group still has live members; the broker refuses commits from outside."""

    def __init__(self, group: str, members: Sequence[Member] = ()) -> None:
        self.group = group
        self.members = list(members)
        names = ", ".join(f"{m.client_id}@{m.host}" for m in self.members) or "unknown members"
        super().__init__(f"group {group!r} still has live members: {names}")


async def commit_offsets(
    bootstrap: Sequence[str],
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
            bootstrap_servers=list(bootstrap), group_id=group, enable_auto_commit=False
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
    bootstrap: Sequence[str],
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
