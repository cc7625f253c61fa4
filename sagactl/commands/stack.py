"""`sagactl stack`: start Kafka, PostgreSQL and Redis, create the topics, export their addresses."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import threading
from typing import Any, TextIO

from config.env import load
from harness.stack import Stack
from kafka_admin.topics import PartitionMismatch, ensure_topics


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "stack",
        help="start Kafka, PostgreSQL and Redis; print or pass on their addresses",
        description=(
            "Start a single-node Kafka (KRaft; --brokers 3: a three-node cluster), PostgreSQL "
            "and Redis on free loopback ports "
            "(or in containers when a Docker engine answers), create the project's topics and "
            "print the environment variables that point at them. Components whose variable "
            "(KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL, REDIS_URL) is already set are not started. "
            "With `-- CMD ...` run CMD with those variables and exit with its code; otherwise "
            "keep running until Ctrl-C."
        ),
    )
    parser.add_argument("--no-kafka", dest="kafka", action="store_false", help="no Kafka broker")
    parser.add_argument(
        "--no-postgres", dest="postgres", action="store_false", help="no PostgreSQL"
    )
    parser.add_argument("--no-redis", dest="redis", action="store_false", help="no Redis")
    parser.add_argument(
        "--no-docker",
        dest="docker",
        action="store_false",
        default=None,
        help="never use containers, even when a Docker engine answers",
    )
    parser.add_argument("--workdir", help="folder for the servers' data (default: a temp folder)")
    parser.add_argument(
        "--brokers",
        type=int,
        choices=(1, 3),
        default=int(os.environ.get("BROKERS") or 1),
        help="Kafka nodes: 3 runs a local KRaft cluster, topics with replication factor 3"
        " and min.insync.replicas=2 (default: 1, or the BROKERS environment variable)",
    )
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD", help="command to run")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    stack = Stack(
        args.kafka,
        args.postgres,
        args.redis,
        args.workdir,
        docker=args.docker,
        brokers=args.brokers,
    )
    with stack:
        env = stack.env()
        if "KAFKA_BOOTSTRAP_SERVERS" in env:
            partitions = load().topic_partitions
            replicas = int(env.get("TOPIC_REPLICATION_FACTOR", load().topic_replication_factor))
            try:
                created = ensure_topics(
                    env["KAFKA_BOOTSTRAP_SERVERS"],
                    partitions=partitions,
                    replication_factor=replicas,
                )
            except PartitionMismatch as exc:
                print(f"sagactl stack: {exc}", file=sys.stderr)
                return 1
            print(f"# topics: {len(created)} created", file=sys.stderr)
        out = sys.stderr if cmd else sys.stdout
        print_exports(env, out)
        if cmd:
            return run_command(cmd, {**os.environ, **env})
        print("# stack is running; Ctrl-C stops it", file=sys.stderr, flush=True)
        return wait_for_interrupt(stack)


def print_exports(env: dict[str, str], out: TextIO) -> None:
    for name, value in env.items():
        print(f"export {name}={shlex.quote(value)}", file=out)
    out.flush()


def run_command(cmd: list[str], env: dict[str, str]) -> int:
    """Run ``cmd`` and return its exit code (128+N when killed by signal N).

    Ctrl-C reaches the child directly (same process group), so the first one lets it
    finish its own cleanup; a second one, or SIGTERM, terminates it.
    """
    try:
        proc = subprocess.Popen(cmd, env=env)
    except FileNotFoundError:
        print(f"sagactl stack: command not found: {cmd[0]}", file=sys.stderr)
        return 127
    try:
        try:
            code = proc.wait()
        except KeyboardInterrupt:
            code = proc.wait()
    finally:
        if proc.poll() is None:  # we are leaving early (SIGTERM): take the child with us
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return 128 - code if code < 0 else code


def wait_for_interrupt(stack: Stack) -> int:
    stopped = threading.Event()
    try:
        while not stopped.wait(1.0):
            dead = stack.dead()
            if dead:
                print(f"sagactl stack: {', '.join(dead)} stopped unexpectedly", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        print("\n# stopping the stack", file=sys.stderr)
    return 0
