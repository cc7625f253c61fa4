"""`sagactl scale`: add or remove workers of a running `sagactl run`, or list its processes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.control import ENV_VAR, ControlError, default_path, request
from harness.services import SERVICES, ServiceError, by_name


def register(subparsers: Any) -> argparse.ArgumentParser:
    scalable = ", ".join(s.name for s in SERVICES if s.scalable)
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "scale",
        help="add or remove workers of a running platform (e.g. payment=3)",
        description=(
            "Change how many processes of a worker the running `sagactl run` (or `make run`)"
            " has, e.g. `sagactl scale payment=3`, then `sagactl scale payment=1`. New workers"
            " join the consumer group and the broker moves partitions to them; a removed"
            " worker is stopped with SIGTERM (it finishes its event in flight, commits and"
            " leaves the group). A member that is down (crashed) does not count: it is"
            " started again if the new count needs it. 0 stops every worker of the service."
            " It waits until new workers are ready. Without arguments it lists the processes."
            " It talks to the platform over its control socket, a Unix socket only your user"
            " can open"
            f" (default var/sagactl.sock; {ENV_VAR} or --control to change). Scalable: {scalable}."
        ),
    )
    parser.add_argument("scales", nargs="*", metavar="SVC=N", help="e.g. payment=3 inventory=2")
    parser.add_argument("--control", type=Path, default=None, help="the platform's control socket")
    parser.set_defaults(func=run)
    return parser


def parse(texts: list[str]) -> list[tuple[str, int]]:
    """``["payment=3"]`` -> ``[("payment", 3)]``; 0 allowed (stop every worker)."""
    result: list[tuple[str, int]] = []
    for text in texts:
        name, sep, count = (part.strip() for part in text.partition("="))
        if not sep or not name or not count.isdigit():
            raise ServiceError(f"bad scale {text!r}: expected SERVICE=COUNT, e.g. payment=3")
        service = by_name(name)
        if int(count) > 1 and not service.scalable:
            raise ServiceError(f"{name} runs once and cannot scale")
        result.append((name, int(count)))
    return result


def render(status: dict[str, Any]) -> str:
    """The process table of a status answer."""
    rows = [["process", "service", "group", "pid", "state", "restarts"]]
    for p in status.get("processes", []):
        rows.append(
            [
                p["name"],
                p["service"],
                p.get("group") or "-",
                str(p.get("pid") or "-"),
                p.get("state") or ("running" if p["running"] else "stopped"),
                str(p.get("restarts", 0)),
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def run(args: argparse.Namespace) -> int:
    path = args.control or default_path()
    try:
        wanted = parse(args.scales)
    except ServiceError as exc:
        print(f"sagactl scale: error: {exc}", file=sys.stderr)
        return 2
    try:
        answer = request(path, {"op": "status"})
        for service, count in wanted:
            print(f"scaling {service} to {count} ...", flush=True)
            answer = request(path, {"op": "scale", "service": service, "count": count})
            for name in answer["started"]:
                print(f"  started {name} (ready)")
            for name in answer["stopped"]:
                print(f"  stopped {name}")
    except ControlError as exc:
        print(f"sagactl scale: error: {exc}", file=sys.stderr)
        return 1
    print(render(answer))
    return 0
