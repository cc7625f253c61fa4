"""`sagactl chaos`: load with a customer mix, crashes and restarts, then the invariants."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness.control import answers, default_path
from sagactl.chaos import ALL_FAULTS, ChaosPlan, ChaosResult, ControlTarget, OwnedTarget, run


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "chaos",
        help="orders under crashes and restarts; check nothing was lost, doubled or oversold",
        description=(
            "Place orders through the gateway (ordinary customers, declines, credit-limit"
            " failures, scarce products, repeated requests with the same Idempotency-Key)"
            " while killing each worker type, the projector and the relay with SIGKILL,"
            " killing and restarting a Kafka node, and restarting PostgreSQL and Redis. Then"
            " wait for every order to end and check, from the topics and the API: 0 lost,"
            " 0 stuck, 0 double-charged, net charge = total (completed) or 0 (cancelled),"
            " 0 oversold, no leaked reservation, one notice per outcome, the read model equal"
            " to the topics, and no 5xx from the gateway (a 503 only while PostgreSQL or"
            " Redis restarts). Exits 1 on any violation. Against the platform of `sagactl run`"
            " when its control socket answers (process kills only), else on a platform it"
            " starts itself (every fault)."
        ),
    )
    parser.add_argument("--orders", type=int, default=300, help="new orders (default: 300)")
    parser.add_argument("--rate", type=float, default=15.0, help="requests/s (default: 15)")
    parser.add_argument("--rounds", type=int, default=1, help="times each fault (default: 1)")
    parser.add_argument(
        "--faults",
        default=",".join(ALL_FAULTS),
        help=f"comma-separated faults, in order (default: {','.join(ALL_FAULTS)})",
    )
    parser.add_argument(
        "--brokers",
        type=int,
        choices=(1, 3),
        default=1,
        help="Kafka nodes of a platform this command starts (default: 1)",
    )
    parser.add_argument(
        "--broker-down",
        type=float,
        default=5.0,
        help="seconds the killed broker stays down before its restart, in a platform this "
        "command starts (default: 5)",
    )
    parser.add_argument(
        "--max-seconds", type=float, default=900.0, help="bound on the run (default: 900)"
    )
    parser.add_argument(
        "--control",
        type=Path,
        default=None,
        help="a running platform's control socket (default: $SAGACTL_CONTROL or"
        " var/sagactl.sock, when it answers)",
    )
    parser.add_argument(
        "--own", action="store_true", help="always start a platform of its own (every fault)"
    )
    parser.set_defaults(func=command)
    return parser


def command(args: argparse.Namespace) -> int:
    plan = ChaosPlan(
        orders=args.orders,
        rate=args.rate,
        rounds=args.rounds,
        faults=tuple(f.strip() for f in args.faults.split(",") if f.strip()),
        max_seconds=args.max_seconds,
    )
    control = args.control or default_path()
    if not args.own and answers(control):
        print(f"chaos: against the platform at {control}", flush=True)
        result = run(ControlTarget(control), plan, log=_log)
    else:
        result = run_owned(plan, brokers=args.brokers, broker_down=args.broker_down)
    print(result.report(), flush=True)
    return 0 if result.ok else 1


def run_owned(
    plan: ChaosPlan, *, brokers: int = 1, log_dir: Path | None = None, broker_down: float = 5.0
) -> ChaosResult:
    """Start a stack and the whole platform (healing on), run the scenario, stop them."""
    from harness.healing import RestartPolicy
    from harness.runner import Platform, PlatformOptions
    from harness.stack import Stack

    with tempfile.TemporaryDirectory(prefix="chaos-") as folder:
        logs = log_dir or Path(folder) / "logs"
        _log(f"chaos: starting a platform ({brokers} Kafka node(s)); logs in {logs}")
        # Docker off: the scenario kills and restarts local processes it owns.
        with Stack(docker=False, brokers=brokers, environ={}) as stack:
            options = PlatformOptions(
                port=0, log_dir=logs, restart=RestartPolicy(), stream=sys.stderr
            )
            with Platform(stack.env(), options) as platform:
                target = OwnedTarget(platform, stack, broker_down=broker_down)
                return run(target, plan, log=_log, evidence=logs)


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
