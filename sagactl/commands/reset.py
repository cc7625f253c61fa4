"""`sagactl reset`: delete and recreate every topic, empty the database, reseed the stock:
a clean demo. Asks first (or --yes)."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from config.env import ROOT, load
from contracts.topics import ALL_TOPICS
from harness.control import answers, default_path
from harness.services import SERVICES
from kafka_admin.groups import describe_group
from kafka_admin.topics import delete_topics_async, ensure_topics, list_topics_async
from sagactl.target import apply, platform_env

#: Consumer groups of the platform; a group's Faust changelogs are named ``<group>-...``.
GROUPS = tuple(s.group for s in SERVICES if s.group)


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "reset",
        help="wipe topics, database and stock for a clean demo (asks first; --yes)",
        description=(
            "For a clean demo on long-lived infrastructure (compose, your own broker): delete"
            " every project topic and every Faust changelog of the platform's groups (their"
            " committed offsets go with the topics), create the topics again, empty the"
            " gateway's database (`manage.py flush`, then the staff user again from"
            " ADMIN_USERNAME/ADMIN_PASSWORD) and reload the stock (`inventory seed --reset`)."
            " Every service must be stopped: it refuses while a platform answers on the control"
            " socket or a group has live members, and names them. `make run` needs none of"
            " this: Ctrl-C deletes its temporary data."
        ),
    )
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--control", type=Path, default=None, help="the platform's control socket")
    parser.set_defaults(func=run)
    return parser


async def doomed_topics(bootstrap: list[str]) -> list[str]:
    """Project topics and the groups' changelogs that exist on the broker."""
    existing = await list_topics_async(bootstrap)
    ours = {t.name for t in ALL_TOPICS}
    return sorted(t for t in existing if t in ours or any(t.startswith(f"{g}-") for g in GROUPS))


def run(args: argparse.Namespace) -> int:
    path = args.control or default_path()
    if answers(path):
        print(
            f"sagactl reset: refusing: a platform is running (control socket {path}). Stop it"
            " (Ctrl-C; `make run` then deletes its data anyway).",
            file=sys.stderr,
        )
        return 3
    apply(platform_env(args.control))
    settings = load()
    bootstrap = settings.bootstrap_list
    live = []
    for group in GROUPS:
        state = asyncio.run(describe_group(bootstrap, group))
        live += [f"{group}: {m.client_id} at {m.host.lstrip('/')}" for m in state.members]
    if live:
        print("sagactl reset: refusing: live consumers:\n  " + "\n  ".join(live), file=sys.stderr)
        return 3
    topics = asyncio.run(doomed_topics(bootstrap))
    print(f"This deletes, at {settings.kafka_bootstrap_servers}, {len(topics)} topics:")
    print("  " + "\n  ".join(topics or ["(none)"]))
    print(f"empties the database {_safe(settings.database_url)} and the stock in Redis.")
    if not args.yes:
        try:
            answer = input("Type 'reset' to go on: ")
        except EOFError:
            answer = ""
        if answer.strip() != "reset":
            print("nothing changed")
            return 1
    asyncio.run(delete_topics_async(bootstrap, topics))
    print(f"deleted {len(topics)} topics")
    created = ensure_topics(
        settings.kafka_bootstrap_servers,
        partitions=settings.topic_partitions,
        replication_factor=settings.topic_replication_factor,
    )
    print(f"created {len(created)} topics")
    env = {**os.environ}
    for step in (
        ["manage.py", "flush", "--noinput"],
        ["manage.py", "migrate", "--noinput", "-v", "0"],
        ["manage.py", "ensure_admin"],
        ["-m", "inventory", "seed", "--reset"],
    ):
        code = subprocess.call([sys.executable, *step], cwd=ROOT, env=env)
        if code != 0:
            print(f"sagactl reset: {' '.join(step)} failed ({code})", file=sys.stderr)
            return code
    print("reset done: start the services for a clean demo")
    return 0


def _safe(url: str) -> str:
    from sagactl.commands.run import redact

    return redact(url)
