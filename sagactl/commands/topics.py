"""`sagactl topics`: create the project's topics and show what the broker holds."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from config.env import load
from kafka_admin.topics import (
    PartitionMismatch,
    TopicInfo,
    describe_topics,
    ensure_topics,
    wait_for_broker,
)
from sagactl.target import apply, platform_env

#: The configs `describe` shows for every topic.
KEY_CONFIGS = ("retention.ms", "cleanup.policy", "min.insync.replicas")


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "topics",
        help="create or describe the Kafka topics (at KAFKA_BOOTSTRAP_SERVERS)",
        description=(
            "Create the project's topics (idempotent) or describe the broker's topics with"
            " their partition counts, replication factor and key configs. The broker is"
            " KAFKA_BOOTSTRAP_SERVERS, else the running `sagactl run`'s."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create every missing project topic")
    create.add_argument(
        "--partitions",
        type=int,
        default=None,
        help="partitions per topic (default: TOPIC_PARTITIONS, 6)",
    )
    create.set_defaults(func=create_topics)
    describe = actions.add_parser("describe", help="list topics with partitions and key configs")
    describe.set_defaults(func=show_topics)
    for sub in (create, describe):
        sub.add_argument(
            "--timeout", type=float, default=15.0, help="seconds to wait for the broker"
        )
    return parser


def create_topics(args: argparse.Namespace) -> int:
    apply(platform_env())
    settings = load()
    bootstrap = settings.kafka_bootstrap_servers
    if not _reachable(bootstrap, args.timeout):
        return 1
    partitions = args.partitions or settings.topic_partitions
    try:
        created = ensure_topics(
            bootstrap, partitions=partitions, replication_factor=settings.topic_replication_factor
        )
    except PartitionMismatch as exc:
        print(f"sagactl topics: {exc}", file=sys.stderr)
        return 1
    for name in created:
        print(f"created {name}")
    print(f"{len(created)} topic(s) created at {bootstrap}; the others already existed")
    return 0


def show_topics(args: argparse.Namespace) -> int:
    apply(platform_env())
    bootstrap = load().kafka_bootstrap_servers
    if not _reachable(bootstrap, args.timeout):
        return 1
    print(render_table(describe_topics(bootstrap)))
    return 0


def render_table(topics: list[TopicInfo]) -> str:
    """A plain-text table: topic, partitions, replication factor and the key configs."""
    header = ["topic", "partitions", "rf", *KEY_CONFIGS]
    rows = [
        [
            t.name,
            str(t.partitions),
            str(t.replication_factor),
            *(t.configs.get(c, "-") for c in KEY_CONFIGS),
        ]
        for t in topics
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def _reachable(bootstrap: str, timeout: float) -> bool:
    try:
        wait_for_broker(bootstrap, timeout)
    except TimeoutError:
        print(
            f"sagactl topics: no Kafka broker answers at {bootstrap}; set KAFKA_BOOTSTRAP_SERVERS "
            "or start one with `sagactl stack`",
            file=sys.stderr,
        )
        return False
    return True
