"""`sagactl seed`: load the catalogue and stock (`python -m inventory seed`) and list the
demo customers that `sagactl load` orders for."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from config.env import ROOT
from sagactl.load import CUSTOMERS
from sagactl.target import platform_env


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "seed",
        help="load the product catalogue and stock; list the demo customers",
        description=(
            "Load the 24 demo products into inventory's stock in Redis and publish each"
            " product's StockLevel (the read model's catalogue follows), through"
            " `python -m inventory seed`. Default: create missing products and restock existing"
            " ones to their catalogue level; --if-empty only creates missing ones; --reset"
            " deletes every inventory key first (stop the inventory workers for that). No"
            " service stores customers (an order names its userId): it lists the demo customer"
            " ids that `sagactl load` uses; user-blocked is always declined by payment. Works on"
            " the running `sagactl run`'s Redis and Kafka unless REDIS_URL and"
            " KAFKA_BOOTSTRAP_SERVERS are set."
        ),
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--if-empty", action="store_true", help="only create missing products")
    mode.add_argument("--reset", action="store_true", help="delete every inventory key first")
    parser.add_argument("--control", type=Path, default=None, help="the platform's control socket")
    parser.set_defaults(func=run)
    return parser


def command(args: argparse.Namespace) -> list[str]:
    flags = ["--if-empty"] if args.if_empty else ["--reset"] if args.reset else []
    return [sys.executable, "-m", "inventory", "seed", *flags]


def run(args: argparse.Namespace) -> int:
    env = {**os.environ, **platform_env(args.control)}
    code = subprocess.call(command(args), cwd=ROOT, env=env)
    if code == 0:
        print(
            f"customers: {len(CUSTOMERS)} demo ids, {CUSTOMERS[0]} .. {CUSTOMERS[-1]}"
            " (used by `sagactl load`), plus user-blocked (declined by payment)"
        )
    return code
