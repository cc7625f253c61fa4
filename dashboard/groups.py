"""Consumer groups as the dashboard shows them: pure, from what the admin API returned.

For each group: its members and the partitions each owns, and per partition the
committed offset, the end offset and the lag. Lag counts only the topics the group
consumes and commits (`dashboard.lag`): the changelogs of its tables and its other
internal topics are listed apart, under ``restore``, with their size (the end offset).

A change of members or of who owns which partition is a rebalance: ``rebalancedAt``
says when the monitor first saw it (kept while highlighted), ``lastRebalanceAt`` the
latest one it saw, and ``generation`` counts the assignments the monitor has seen since
it started (DescribeGroups does not give the broker's generation id).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dashboard.lag import is_internal, partition_lag
from kafka_admin.groups import TP, Member

#: How long the page highlights a group after a rebalance.
REBALANCE_HIGHLIGHT_S = 15.0


@dataclass(frozen=True)
class GroupReading:
    """One group as the broker described it."""

    group: str
    state: str
    members: tuple[Member, ...] = ()
    committed: Mapping[TP, int] = field(default_factory=dict)


def signature(reading: GroupReading) -> list[list[Any]]:
    """Who owns what: equal signatures mean no rebalance happened in between."""
    return sorted(
        [m.member_id, sorted(f"{t}[{p}]" for t, p in m.assignment)] for m in reading.members
    )


def group_view(
    reading: GroupReading,
    ends: Mapping[TP, int],
    previous: Mapping[str, Any] | None,
    now: float,
) -> dict[str, Any]:
    """The group as JSON for the page; ``previous`` is the view of the last poll."""
    members = sorted(reading.members, key=lambda m: m.member_id)
    labels = {m.member_id: f"M{i}" for i, m in enumerate(members, start=1)}
    owner = {tp: labels[m.member_id] for m in members for tp in m.assignment}
    partitions = sorted({*reading.committed, *owner})
    topics: dict[str, list[dict[str, Any]]] = {}
    restore: dict[str, list[dict[str, Any]]] = {}
    total = 0
    for topic, partition in partitions:
        committed = reading.committed.get((topic, partition), -1)
        end = ends.get((topic, partition))
        if is_internal(topic):
            restore.setdefault(topic, []).append(
                {"partition": partition, "owner": owner.get((topic, partition)), "end": end}
            )
            continue
        lag = partition_lag(topic, committed, end)
        total += lag or 0
        topics.setdefault(topic, []).append(
            {
                "partition": partition,
                "owner": owner.get((topic, partition)),
                "committed": committed if committed >= 0 else None,
                "end": end,
                "lag": lag,
            }
        )
    sig = signature(reading)
    rebalanced_at = None
    last = None
    generation = 1 if reading.members else 0
    if previous is not None:
        changed = previous.get("signature") != sig
        rebalanced_at = now if changed else previous.get("rebalancedAt")
        last = now if changed else previous.get("lastRebalanceAt")
        generation = int(previous.get("generation", 0)) + (1 if changed else 0)
    if rebalanced_at is not None and now - rebalanced_at > REBALANCE_HIGHLIGHT_S:
        rebalanced_at = None
    return {
        "group": reading.group,
        "state": reading.state,
        "members": [
            {
                "label": labels[m.member_id],
                "memberId": m.member_id,
                "clientId": m.client_id,
                "host": m.host,
                "partitions": sorted(f"{t}[{p}]" for t, p in m.assignment),
            }
            for m in members
        ],
        "topics": [{"topic": t, "partitions": rows} for t, rows in sorted(topics.items())],
        "restore": [
            {"topic": t, "partitions": rows, "records": sum(r["end"] or 0 for r in rows)}
            for t, rows in sorted(restore.items())
        ],
        "lag": total,
        "rebalancedAt": rebalanced_at,
        "lastRebalanceAt": last,
        "generation": generation,
        "signature": sig,
    }


def service_health(view: Mapping[str, Any] | None) -> dict[str, str]:
    """A worker is up while its consumer group has members."""
    if view is None:
        return {"status": "unknown", "detail": "the broker did not describe the group"}
    count = len(view["members"])
    if count == 0:
        return {"status": "down", "detail": f"no members (group {view['state'] or 'unknown'})"}
    noun = "member" if count == 1 else "members"
    state = view["state"]
    status = "up" if state == "Stable" else "degraded"
    return {"status": status, "detail": f"{count} {noun}, group {state}"}
