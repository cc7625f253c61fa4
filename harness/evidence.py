"""What a failed run leaves behind to explain itself: where the orders that broke an
invariant sit in the topics, and how each consumer group's commits moved over them.

A chaos run that ends with violations writes ``evidence.txt`` into its log folder
(``write``): for every order named by a violation, each of its records (topic,
partition, offset, broker timestamp, event type); then, for every partition those
records are on, the history of every group's commits there, read from
``__consumer_offsets`` with timestamps. Together with the processes' logs this shows
whether a record was never read, read and skipped by a commit, or never written.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import contracts
from harness.ledger import FACT_TOPICS, read_topic
from kafka_admin.offsets import decode_commit

_ORDER = re.compile(r"^([\w.-]+):?")


def violating_orders(violations: Mapping[str, Iterable[str]]) -> list[str]:
    """The order ids that violations name (``"<order id>: <problem>"`` or the id alone);
    products (``"prod-001: sold …"``) are left out."""
    found = set()
    for name, items in violations.items():
        if name == "oversold":
            continue
        for item in items:
            match = _ORDER.match(item)
            if match and not match.group(1).startswith("prod-"):
                found.add(match.group(1))
    return sorted(found)


def _stamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M:%S.%f")[:-3]


def render(bootstrap: str, order_ids: Iterable[str]) -> str:
    """The evidence text for ``order_ids`` (see the module doc)."""
    wanted = {o.encode() for o in order_ids}
    lines = [f"# records of {len(wanted)} order(s) named by violations"]
    partitions: set[tuple[str, int]] = set()
    rows = []
    for topic in FACT_TOPICS:
        for record in read_topic(bootstrap, topic):
            if record.key not in wanted:
                continue
            try:
                kind = type(contracts.decode(record.value)).__name__ if record.value else "-"
            except contracts.ContractError:
                kind = "undecodable"
            partitions.add((topic, record.partition))
            rows.append(
                (
                    record.key.decode(),
                    record.timestamp,
                    topic,
                    record.partition,
                    record.offset,
                    kind,
                )
            )
    for order, ms, topic, partition, offset, kind in sorted(rows):
        lines.append(f"{order} {_stamp(ms)} {topic}[{partition}]@{offset} {kind}")
    history: dict[tuple[str, int], list[str]] = defaultdict(list)
    for record in read_topic(bootstrap, "__consumer_offsets"):
        decoded = decode_commit(record.key, record.value) if record.key else None
        if decoded is None:
            continue
        group, topic, partition, offset = decoded
        if (topic, partition) in partitions:
            history[(topic, partition)].append(f"  {_stamp(record.timestamp)} {group} {offset}")
    for topic, partition in sorted(history):
        lines.append(f"# commits on {topic}[{partition}] (time, group, next offset)")
        lines.extend(history[(topic, partition)])
    return "\n".join(lines) + "\n"


def write(bootstrap: str, violations: Mapping[str, Iterable[str]], folder: Path) -> Path:
    """Write ``evidence.txt`` into ``folder`` for the orders ``violations`` name."""
    path = folder / "evidence.txt"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(render(bootstrap, violating_orders(violations)))
    return path
