"""`sagactl dlq`: the dead-letter queue tools, forwarded to `manage.py dlq` (the gateway's
database and Kafka, from DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

ACTIONS = ("list", "show", "redrive", "discard")


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "dlq",
        help="list, show, redrive or discard dead letters",
        description=(
            "Work with the dead letters the projector stored from orders.dlq.v1: `list` "
            "(filters --topic, --error-type, --group, --status, --since, --until), `show ID`, "
            "`redrive ID | --all | filters` (back to the original topic, for the failed "
            "group only), `discard ID | --all | filters`. Every redrive and discard is "
            "audited as cli:<your user>. `sagactl dlq ACTION --help` shows an action's options."
        ),
    )
    parser.add_argument("action", choices=ACTIONS, help="what to do")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the action's id and options")
    parser.set_defaults(func=run)
    return parser


def command(args: argparse.Namespace) -> list[str]:
    """The `manage.py dlq` command line this invocation stands for."""
    return [sys.executable, str(ROOT / "manage.py"), "dlq", args.action, *args.args]


def run(args: argparse.Namespace) -> int:
    return subprocess.call(command(args), cwd=ROOT)
