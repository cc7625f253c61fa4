"""`sagactl run`: the infrastructure and every service in one terminal, until Ctrl-C."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from config.env import ROOT
from harness.control import ControlError, ControlServer, answers, default_path
from harness.healing import RestartPolicy
from harness.ports import port_is_free
from harness.runner import Platform, PlatformError, PlatformOptions
from harness.services import (
    SERVICES,
    ServiceError,
    cohosted,
    instances,
    parse_only,
    parse_scale,
)
from harness.supervisor import Exit

EXAMPLE_ORDER = {
    "orderId": "550e8400-e29b-41d4-a716-446655440000",
    "userId": "user-123",
    "amount": 99.99,
    "currency": "USD",
    "items": [{"productId": "prod-001", "quantity": 2, "price": 49.995}],
}

#: Where each run's per-process logs go by default (``var/log/run-<time>/``).
LOG_ROOT = ROOT / "var" / "log"
#: How many runs' log folders are kept there.
KEEP_RUNS = 10
#: ``LOG_LEVEL`` values that make the terminal verbose, as ``-v`` does.
VERBOSE_LEVELS = ("debug", "info")


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="start Kafka, the database, Redis and every service; stream logs until Ctrl-C",
        description=(
            "Start the infrastructure (Kafka, PostgreSQL or SQLite, Redis), create the topics,"
            " migrate, start every service, print the URLs, and run until Ctrl-C or SIGTERM,"
            " then stop everything. Every process's full output goes to its log file; the"
            " terminal shows one line per process when it is ready, warnings, errors and"
            " restarts (everything with -v)."
        ),
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="stream every line of every process to the terminal: access logs (with"
        " GATEWAY_ACCESS_LOG=1), Faust's"
        " banners and INFO chatter (default: when LOG_LEVEL is debug or info)",
    )
    parser.add_argument(
        "--scale",
        metavar="SVC=N[,SVC=N]",
        default=None,
        help="instances per worker, e.g. payment=3 (default: the SCALE environment variable)",
    )
    parser.add_argument(
        "--brokers",
        type=int,
        choices=(1, 3),
        default=None,
        help="Kafka nodes: 3 runs a local KRaft cluster (replication factor 3,"
        " min.insync.replicas=2) (default: the BROKERS environment variable, else 1)",
    )
    parser.add_argument(
        "--cohost",
        action="store_true",
        default=None,
        help="run payment, inventory, saga, notification and analytics as one co-hosted"
        " worker process (service `workers`, one consumer group) instead of one process each:"
        " less CPU per order, the services scale together (default: the COHOST environment"
        " variable, else off)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8000,
        help="the gateway's port on 127.0.0.1; 0 picks a free one (default: 8000)",
    )
    parser.add_argument(
        "--only",
        metavar="SVC[,SVC]",
        default="",
        help="run only these services, e.g. gateway,relay,projector (default: all)",
    )
    parser.add_argument(
        "--log-dir",
        type=Path,
        default=None,
        help="write one log file per process here (default: a new var/log/run-<time>/)",
    )
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=120.0,
        help="seconds each process may take to become ready (default: 120)",
    )
    parser.add_argument(
        "--control",
        type=Path,
        default=None,
        help=(
            "the control socket that `sagactl scale` and `sagactl replay --stop-local` use to"
            " add, remove, stop and start workers of this running platform"
            " (default: $SAGACTL_CONTROL or var/sagactl.sock)"
        ),
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    scale_text = args.scale if args.scale is not None else os.environ.get("SCALE", "")
    cohost = args.cohost if args.cohost is not None else os.environ.get("COHOST", "") == "1"
    table = cohosted() if cohost else SERVICES
    try:
        options = PlatformOptions(
            services=parse_only(args.only, table),
            scale=parse_scale(scale_text, table),
            cohost=cohost,
            port=args.port,
            log_dir=args.log_dir,
            echo=True,
            verbose=args.verbose or verbose_from_env(os.environ),
            ready_timeout=args.ready_timeout,
            # A process that exits unexpectedly is started again, with backoff.
            restart=RestartPolicy(),
        )
        instances(options.services or (), options.scale, table)  # fail before starting
    except ServiceError as exc:
        print(f"sagactl run: error: {exc}", file=sys.stderr)
        return 2

    if args.port and not port_is_free(args.port):
        print(
            f"sagactl run: error: port {args.port} is already in use;"
            " pick another with --port, or --port 0 for a free one",
            file=sys.stderr,
        )
        return 2

    control_path = args.control or default_path()
    if answers(control_path):
        print(
            f"sagactl run: error: another platform is running and listens on {control_path};"
            " stop it first, or give this one another socket with --control",
            file=sys.stderr,
        )
        return 2

    from harness.stack import Stack  # the heavy part; only needed to actually run

    brokers = args.brokers if args.brokers is not None else int(os.environ.get("BROKERS") or 1)
    if brokers not in (1, 3):
        print(f"sagactl run: error: BROKERS must be 1 or 3, not {brokers}", file=sys.stderr)
        return 2
    if options.log_dir is None:
        options = dataclasses.replace(options, log_dir=new_log_dir())
    previous = _stop_on_signals()
    stack = Stack(brokers=brokers, jvm="server")
    try:
        try:
            stack.start()
        except RuntimeError as exc:  # what Stack raises when a component cannot start
            print(f"sagactl run: error: {exc}", file=sys.stderr)
            return 1
        with stack:
            # The dashboard's monitor reads the processes' state from the control socket.
            env = {**stack.env(), "SAGACTL_CONTROL": str(control_path)}
            platform = Platform(env, options, on_unexpected_exit=_keep_going)
            control = ControlServer(platform, control_path)
            with platform, control:
                print(banner(platform, env, control.path), flush=True)
                while True:
                    signal.pause()  # logs stream from threads; wake only for Ctrl-C/SIGTERM
    except KeyboardInterrupt:
        print("sagactl: stopped.", flush=True)
        return 0
    except (PlatformError, ControlError) as exc:
        print(f"sagactl run: error: {exc}", file=sys.stderr)
        return 1
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stop_on_signals() -> dict[int, Any]:
    """SIGTERM and Ctrl-C both unwind through the context managers; once either arrives,
    further signals are ignored so the shutdown itself cannot be interrupted halfway."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print(f"\nsagactl: {signal.Signals(signum).name} received, stopping everything...")
        raise KeyboardInterrupt

    return {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}


def _keep_going(event: Exit) -> None:
    print(
        f"sagactl: {event.name} is down ({event.description}); the supervisor restarts it"
        " (`sagactl scale` shows its state and restarts). Press Ctrl-C to stop everything.",
        flush=True,
    )


def banner(platform: Platform, env: Mapping[str, str], control: Path | None = None) -> str:
    """What is running and where, plus a curl command to place a first order."""
    rule = "=" * 78
    lines = [rule, f" saga platform is up: {', '.join(platform.names)}", ""]
    if "gateway" in platform.names:
        url = platform.gateway_url
        lines += [
            f"   Dashboard          {url}/dashboard/",
            f"   API index          {url}/",
            f"   Orders API         {url}/api/orders",
            f"   Top products       {url}/api/analytics/top-products?window=1m",
            f"   Metrics            {url}/metrics  (DLQ: {url}/metrics/dlq)",
            f"   API docs           {url}/api/docs",
            f"   Health             {url}/health",
            f"   Readiness          {url}/ready",
            "",
        ]
    lines += [
        f"   Kafka              {env.get('KAFKA_BOOTSTRAP_SERVERS', '(not set)')}",
        f"   Database           {redact(env.get('DATABASE_URL', '(SQLite default)'))}",
        f"   Redis              {redact(env.get('REDIS_URL', '(not set)'))}",
        "",
    ]
    if "gateway" in platform.names:
        body = json.dumps(EXAMPLE_ORDER)
        lines += [
            " Place an order:",
            "",
            f"   curl -i -X POST {platform.gateway_url}/api/orders \\",
            "     -H 'Content-Type: application/json' \\",
            f"     -d '{body}'",
            "",
        ]
    if control is not None:
        lines += [
            " Add or remove workers while it runs (watch the group rebalance):",
            "",
            "   sagactl scale payment=3"
            + ("" if control == default_path() else f" --control {control}"),
            "",
        ]
    if platform.options.log_dir is not None:
        lines.append(f" Full logs: {shown_path(platform.options.log_dir)}/<process>.log")
    if platform.options.verbose:
        lines.append(" Logs follow, one prefix per process.")
    else:
        lines.append(
            " Below: warnings, errors and restarts only (sagactl run -v, or LOG_LEVEL=info,"
            " for every line)."
        )
    lines += [" Press Ctrl-C to stop everything.", rule]
    return "\n".join(lines)


def verbose_from_env(env: Mapping[str, str]) -> bool:
    """``LOG_LEVEL=debug`` or ``info`` asks for every line, as ``-v`` does."""
    return env.get("LOG_LEVEL", "").strip().lower() in VERBOSE_LEVELS


def new_log_dir(root: Path = LOG_ROOT, keep: int = KEEP_RUNS) -> Path:
    """A fresh ``run-<time>`` folder under ``root``, the oldest ones beyond ``keep`` gone."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = root / f"run-{stamp}"
    suffix = 1
    while folder.exists():
        suffix += 1
        folder = root / f"run-{stamp}-{suffix}"
    folder.mkdir(parents=True)
    runs = sorted(p for p in root.glob("run-*") if p.is_dir())
    for old in runs[: max(0, len(runs) - keep)]:
        shutil.rmtree(old, ignore_errors=True)
    return folder


def shown_path(path: Path) -> str:
    """``path`` relative to the working directory when it is under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def redact(url: str) -> str:
    """Hide the password of a ``scheme://user:password@host`` URL."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
