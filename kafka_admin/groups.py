"""Consumer groups as the broker describes them: the ONE DescribeGroups decoder and the
one `Member`.

aiokafka 0.14 decodes a DescribeGroups response for several groups with the wrong schema
(it misses each group's authorized operations), so every group after the first comes out
garbled: :func:`describe_groups` asks for one group per request. A member tuple is
``(member_id, [group_instance_id,] client_id, host, metadata, assignment)`` depending on
the request version: it is read from both ends.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from kafka_admin.client import Bootstrap, admin

log = logging.getLogger("kafka_admin.groups")

#: A partition as ``(topic, partition)``.
TP = tuple[str, int]

#: The request timeout of a one-off describe (`describe_group`).
DESCRIBE_TIMEOUT_MS = 15000


@dataclass(frozen=True)
class Member:
    """A live member of a consumer group, as the broker describes it."""

    member_id: str
    client_id: str
    host: str
    #: The partitions the broker's last assignment gave it, as ``(topic, partition)``.
    assignment: tuple[TP, ...] = ()


@dataclass(frozen=True)
class GroupState:
    group: str
    #: ``Stable``, ``Empty``, ``PreparingRebalance``, ``CompletingRebalance``, ``Dead``.
    state: str
    members: tuple[Member, ...]


def decode_assignment(raw: bytes) -> tuple[TP, ...]:
    """The partitions in a consumer-protocol member assignment (empty if there is none)."""
    if not raw:
        return ()
    assignment = ConsumerProtocolMemberAssignment.decode(raw)
    return tuple(
        sorted((topic, partition) for topic, parts in assignment.assignment for partition in parts)
    )


def decode_member(raw: Sequence[Any]) -> Member:
    """One member tuple of a DescribeGroups response (any request version). A member whose
    assignment is not in the consumer protocol is kept, without partitions."""
    try:
        assignment = decode_assignment(raw[-1])
    except Exception:
        log.debug("unreadable assignment of member %s", raw[0])
        assignment = ()
    return Member(raw[0], raw[-4], raw[-3], assignment)


def decode_group(raw: Sequence[Any]) -> GroupState:
    """One group tuple of a DescribeGroups response:
    ``(error_code, group_id, state, protocol_type, protocol, members[, authorized_ops])``."""
    return GroupState(raw[1], raw[2], tuple(decode_member(m) for m in raw[5]))


async def describe_groups(client: AIOKafkaAdminClient, groups: Iterable[str]) -> list[GroupState]:
    """The state and live members of each of ``groups`` (one request per group, see the
    module docstring); a group the broker leaves out of its answer is left out."""
    states = []
    for name in groups:
        [response] = await client.describe_consumer_groups([name])
        states += [decode_group(described) for described in response.groups[:1]]
    return states


async def describe_group(bootstrap: Bootstrap, group: str) -> GroupState:
    """The group's state and live members with their assignments (DescribeGroups)."""
    async with admin(bootstrap, request_timeout_ms=DESCRIBE_TIMEOUT_MS) as client:
        [state] = await describe_groups(client, [group])
    return state
