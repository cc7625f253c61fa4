"""The `sagactl` entry point: one command line for running and operating the platform."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Subcommand modules under ``sagactl.commands``, in the order `--help` lists them.
#: Each defines ``register(subparsers) -> argparse.ArgumentParser`` and sets ``func``
#: (``Callable[[argparse.Namespace], int]``) as the parser default.
COMMANDS = (
    "run",
    "stack",
    "scale",
    "replay",
    "load",
    "seed",
    "topics",
    "reset",
    "dlq",
    "chaos",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sagactl",
        description="Run, inspect and operate the choreography-saga order platform.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"sagactl.commands.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
