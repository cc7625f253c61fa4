"""`sagactl replay`: move a consumer group's offsets (every partition of the chosen topics),
showing the plan first; optionally stop the group's local workers, and rebuild the read
model."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition

from config.env import ROOT, load
from harness.control import ENV_VAR, ControlError, default_path, request
from harness.waiting import wait_until
from kafka_admin.groups import GroupState, describe_group
from kafka_admin.offsets import (
    LiveMembers,
    PlannedReset,
    Target,
    commit_offsets,
    committed_topics,
    plan_reset,
    read_positions,
    render_plan,
)
from sagactl.target import apply, platform_env

PROJECTOR = "projector"


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "replay",
        help="reset a consumer group's offsets (dry run first), optionally rebuild the read model",
        description=(
            "Move the committed offsets of GROUP on every partition of the chosen topics"
            " (--topic, repeatable; default: every topic the group has committed on) to the"
            " earliest or latest retained offset, the first offset at a time, an absolute"
            " offset, or shifted by N. It always prints the plan first (topic, partition,"
            " committed, target, how far it moves, the lag that results); nothing changes"
            " without --execute. The broker refuses to move the offsets of a group with live"
            " members, so it refuses too and names them (client id, host, partitions), unless"
            " --stop-local: then it asks the running `sagactl run` (over its control socket,"
            f" --control or {ENV_VAR}) to stop the group's local workers, moves the offsets,"
            " and starts them again. --rebuild-read-model (group projector) also wipes the"
            " read model in between, so the projector rebuilds it from the topics. Handlers"
            " are idempotent: a replay charges, reserves and notifies nobody twice."
        ),
    )
    parser.add_argument("--group", "-g", default=None, help="the consumer group, e.g. payment")
    parser.add_argument(
        "--topic", "-t", action="append", default=None, help="a topic to move (repeatable)"
    )
    to = parser.add_mutually_exclusive_group()
    to.add_argument("--to-earliest", action="store_true", help="the oldest retained offset")
    to.add_argument("--to-latest", action="store_true", help="the end: skip everything unread")
    to.add_argument(
        "--to-datetime",
        metavar="ISO",
        help="the first offset at or after this time, e.g. 2026-12-01T23:00:00Z",
    )
    to.add_argument("--to-offset", type=int, metavar="N", help="offset N on every partition")
    to.add_argument(
        "--shift-by", type=int, metavar="N", help="the committed offset plus N (negative: back)"
    )
    parser.add_argument("--execute", action="store_true", help="apply the plan (default: dry run)")
    parser.add_argument(
        "--stop-local",
        action="store_true",
        help="stop the group's workers of the running platform first, start them after",
    )
    parser.add_argument(
        "--rebuild-read-model",
        action="store_true",
        help="group projector, earliest by default: also wipe the read model before restarting",
    )
    parser.add_argument("--control", type=Path, default=None, help="the platform's control socket")
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds to wait for stopped members to leave the group (default: 60)",
    )
    parser.set_defaults(func=run)
    return parser


def target_of(args: argparse.Namespace) -> Target:
    """The reset target the options name (earliest when none, e.g. a read-model rebuild)."""
    if args.to_latest:
        return Target("latest")
    if args.to_datetime:
        return Target("timestamp", parse_time_ms(args.to_datetime))
    if args.to_offset is not None:
        return Target("offset", args.to_offset)
    if args.shift_by is not None:
        return Target("shift", args.shift_by)
    return Target("earliest")


def parse_time_ms(text: str) -> int:
    """``2026-12-01T23:00:00Z`` (UTC when no zone is given) or epoch milliseconds -> ms."""
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--to-datetime {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def describe_members(state: GroupState) -> str:
    lines = []
    for m in state.members:
        parts = ", ".join(f"{t}[{p}]" for t, p in m.assignment) or "no partitions"
        lines.append(f"  {m.client_id} at {m.host.lstrip('/')} ({m.member_id}): {parts}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (ControlError, LiveMembers, LookupError, ValueError, TimeoutError) as exc:
        print(f"sagactl replay: error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    group = args.group or (PROJECTOR if args.rebuild_read_model else None)
    if group is None:
        print("sagactl replay: error: name the consumer group with --group", file=sys.stderr)
        return 2
    if args.rebuild_read_model and group != PROJECTOR:
        print(
            "sagactl replay: error: --rebuild-read-model rewinds the projector group,"
            f" not {group!r}",
            file=sys.stderr,
        )
        return 2
    target = target_of(args)
    apply(platform_env(args.control))
    bootstrap = load().bootstrap_list
    topics = args.topic or asyncio.run(committed_topics(bootstrap, group))
    if not topics:
        print(
            f"sagactl replay: error: group {group!r} has no committed offsets; name the topics"
            " with --topic",
            file=sys.stderr,
        )
        return 2

    rows = _plan(bootstrap, group, topics, target)
    state = asyncio.run(describe_group(bootstrap, group))
    mode = "plan" if args.execute else "dry run"
    print(f"group {group!r} -> {target.describe()} ({mode}; group state {state.state})")
    print(render_plan(rows))
    if state.members:
        print(f"group {group!r} has {len(state.members)} live member(s):")
        print(describe_members(state))
    if not args.execute:
        if state.members and not args.stop_local:
            print("--execute would refuse while they run: stop them, or add --stop-local")
        print("dry run: nothing changed; add --execute to apply")
        return 0
    if state.members and not args.stop_local:
        print(
            f"sagactl replay: refusing: group {group!r} has live members (above). Stop them, or"
            " add --stop-local to stop the local workers of the running platform and restart"
            " them after.",
            file=sys.stderr,
        )
        return 3

    stopped = _stop_local(args, group) if args.stop_local else []
    try:
        _wait_until_empty(bootstrap, group, args.timeout)
        again = _plan(bootstrap, group, topics, target)
        if again != rows:  # the workers committed more before they stopped
            print("the committed offsets moved while the workers stopped; the plan now:")
            print(render_plan(again))
        asyncio.run(
            commit_offsets(
                bootstrap,
                group,
                {TopicPartition(r.topic, r.partition): r.target for r in again},
                timeout=args.timeout,
            )
        )
        print(f"committed {len(again)} offsets for group {group!r}")
        if args.rebuild_read_model:
            code = subprocess.call([sys.executable, str(ROOT / "manage.py"), "wipe_read_model"])
            if code != 0:
                print("sagactl replay: wiping the read model failed", file=sys.stderr)
                return code
    finally:
        if stopped:
            path = args.control or default_path()
            print(f"starting {', '.join(stopped)} again ...", flush=True)
            request(path, {"op": "start", "names": stopped})
            print("started (ready)")
    return 0


def _plan(
    bootstrap: list[str], group: str, topics: list[str], target: Target
) -> list[PlannedReset]:
    at = target.value if target.kind == "timestamp" else None
    positions = asyncio.run(read_positions(bootstrap, group, topics, timestamp_ms=at))
    return plan_reset(target, positions)


def _stop_local(args: argparse.Namespace, group: str) -> list[str]:
    """Stop every local process of the group; return their names."""
    path = args.control or default_path()
    status = request(path, {"op": "status"})
    services = sorted(
        {p["service"] for p in status["processes"] if p.get("group") == group and p["running"]}
    )
    if not services:
        raise ControlError(
            f"the platform on {path} runs no worker of group {group!r}: the live members are"
            " elsewhere (another machine, compose, a test); stop them there"
        )
    stopped: list[str] = []
    for service in services:
        stopped += request(path, {"op": "stop", "service": service})["stopped"]
    print(f"stopped {', '.join(stopped)}", flush=True)
    return stopped


def _wait_until_empty(bootstrap: list[str], group: str, timeout: float) -> None:
    """Wait until the broker shows no live member (the stopped workers have left)."""
    states: list[GroupState] = []

    def empty() -> bool:
        states.append(asyncio.run(describe_group(bootstrap, group)))
        return not states[-1].members

    try:
        wait_until(empty, timeout=timeout, what=f"group {group} to empty", interval=0.5)
    except TimeoutError:
        raise LiveMembers(group, states[-1].members) from None
