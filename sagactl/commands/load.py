"""`sagactl load`: N orders through the gateway at a rate or as fast as possible; a summary of
outcomes, throughput and accept -> outcome latency percentiles."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from config.env import load as load_settings
from sagactl.load import LoadPlan, LoadResult, run_load
from sagactl.target import apply, platform_env

MAX_ORDERS = 1_000_000


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "load",
        help="place N orders at a rate (or as fast as possible) and measure accept -> outcome",
        description=(
            "POST N orders to the gateway's /api/orders (one random in-stock product each, for"
            " a random demo customer), at --rate orders per second or, with --rate 0, as fast"
            " as --concurrency requests in flight allow. It follows orders.outcome.v1 (from its"
            " end, no consumer group) and reports the outcomes, the accept rate, the saga"
            " throughput (outcomes per second from the first accept to the last outcome) and"
            " the latency from accept (the order's createdAt) to its outcome event's"
            " occurredAt: p50/p90/p95/p99/max. It stops by itself: after the last outcome, or"
            " --settle seconds after the last order, or at --max-seconds. The gateway and the"
            " broker are the running `sagactl run`'s unless GATEWAY_URL /"
            " KAFKA_BOOTSTRAP_SERVERS (or --url) say otherwise."
        ),
    )
    parser.add_argument("-n", "--orders", type=int, default=1000, help="orders (default 1000)")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="orders per second; 0: as fast as possible"
    )
    parser.add_argument(
        "--concurrency", type=int, default=None, help="requests in flight at most (default 32)"
    )
    parser.add_argument("--url", default=None, help="the gateway (default: the running one)")
    parser.add_argument(
        "--settle", type=float, default=60.0, help="seconds to wait for outcomes at the end (60)"
    )
    parser.add_argument(
        "--max-seconds", type=float, default=600.0, help="bound on the whole run (600)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of products/customers")
    parser.add_argument(
        "--direct",
        action="store_true",
        help="skip the gateway: produce each OrderPlaced to orders.v1 as the relay would"
        " (measures the Kafka side alone; latency counts from the event's occurredAt)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--control", type=Path, default=None, help="the platform's control socket")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if not 0 < args.orders <= MAX_ORDERS or args.rate < 0:
        print(
            f"sagactl load: error: --orders must be 1..{MAX_ORDERS}, --rate >= 0", file=sys.stderr
        )
        return 2
    env = platform_env(args.control)
    apply({k: v for k, v in env.items() if k != "GATEWAY_URL"})
    gateway = (args.url or env.get("GATEWAY_URL") or "http://127.0.0.1:8000").rstrip("/")
    concurrency = args.concurrency or 32
    plan = LoadPlan(
        args.orders, args.rate, concurrency, args.settle, args.max_seconds, args.seed, args.direct
    )
    rate = f"{args.rate:g}/s" if args.rate else f"as fast as possible ({concurrency} in flight)"
    target = "orders.v1 directly (no gateway)" if args.direct else gateway
    print(f"load: {args.orders} orders to {target}, {rate}", file=sys.stderr)
    bar = ProgressBar(args.orders, sys.stderr)
    try:
        result = asyncio.run(
            run_load(plan, gateway, load_settings().bootstrap_list, progress=bar.update)
        )
    except (RuntimeError, OSError) as exc:
        print(f"\nsagactl load: error: {exc}", file=sys.stderr)
        return 1
    bar.close()
    summary = result.summary()
    print(json.dumps(summary, indent=2) if args.json else render(summary))
    return 0 if result.missing == 0 and result.accepted == result.sent else 1


class ProgressBar:
    """One line on a terminal (redrawn), a line every few seconds otherwise."""

    def __init__(self, total: int, out: TextIO) -> None:
        self.total = total
        self.out = out
        self.tty = out.isatty()
        self._last = ""
        self._lines = 0

    def update(self, result: LoadResult, done: int) -> None:
        width = 30
        filled = int(width * done / self.total)
        text = (
            f"[{'#' * filled}{'.' * (width - filled)}] sent {result.sent}/{self.total}"
            f"  accepted {result.accepted}  outcomes {done}"
        )
        if self.tty:
            self.out.write("\r" + text)
            self.out.flush()
        elif text != self._last:
            self._lines += 1
            if self._lines % 10 == 1:
                print(text, file=self.out, flush=True)
        self._last = text

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")
        elif self._last:
            print(self._last, file=self.out, flush=True)


def render(s: dict[str, Any]) -> str:
    lat = s["latencyMs"] or {}
    post = s["postMs"] or {}
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(s["outcomes"].items())) or "none"
    lines = [
        f"orders      sent {s['sent']}, accepted {s['accepted']} (HTTP {s['httpStatuses']}"
        + (f", errors {s['errors']}" if s["errors"] else "")
        + ")",
        f"outcomes    {outcomes}; without an outcome: {s['missing']}",
        f"accepting   {s['sendSeconds']} s, {s['acceptRate']} orders/s"
        f" (POST p50 {post.get('p50', '-')} ms, p99 {post.get('p99', '-')} ms)",
        f"saga        {s['sagaSeconds']} s from the first accept to the last outcome:"
        f" {s['throughput']} orders/s",
        "latency     accept -> outcome (ms): " + "  ".join(f"{k} {v}" for k, v in lat.items()),
    ]
    if s["stoppedEarly"]:
        lines.append(f"stopped     {s['stoppedEarly']}")
    return "\n".join(lines)
