"""The workers' CPU per order, as five processes and co-hosted in one.

    .venv/bin/python -m benchmarks.cohost_bench [--rates 20:600,60:1800]

For each mode (``sagactl run`` and ``sagactl run --cohost``, each a platform of its own
on a free port, stopped at the end) and each ``RATE:ORDERS`` pair, it runs ``sagactl
load --direct -n ORDERS --rate RATE`` and reads every process's CPU time from ``/proc``
before and after (``benchmarks.measure.sample``): CPU ms per order of the workers
together and of each process. It prints the figures, the machine and the command; bounded
by the platforms' start (180 s each) and each load's own bound.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import measure
from harness.control import request
from harness.services import COHOSTED, WORKERS

ROOT = Path(__file__).resolve().parents[1]
SAGACTL = str(Path(sys.executable).with_name("sagactl"))
WORKER_NAMES = {*COHOSTED, WORKERS.name}


def parse_rates(text: str) -> list[tuple[float, int]]:
    """``"20:600,60:1800"`` -> ``[(20.0, 600), (60.0, 1800)]``."""
    pairs = []
    for part in text.split(","):
        rate, _, orders = part.partition(":")
        pairs.append((float(rate), int(orders)))
    return pairs


def measure_mode(cohost: bool, rates: list[tuple[float, int]]) -> list[dict[str, float]]:
    """Start a platform (co-hosted or not), load it at each rate, stop it."""
    with tempfile.TemporaryDirectory(prefix="cohost-bench-") as folder:
        control = Path(folder) / "ctl.sock"
        argv = [SAGACTL, "run", "--port", "0", "--control", str(control)]
        argv += ["--log-dir", str(Path(folder) / "logs")] + (["--cohost"] if cohost else [])
        output = Path(folder) / "run.txt"
        run = subprocess.Popen(argv, cwd=ROOT, stdout=output.open("w"), stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and not control.exists():
                if run.poll() is not None:
                    raise SystemExit(f"sagactl run exited: {output.read_text()[-2000:]}")
                time.sleep(1)
            status = request(control, {"op": "status"}, timeout=180)
            pids = {p["name"]: int(p["pid"]) for p in status["processes"] if p["running"]}
            rows = []
            for rate, orders in rates:
                before, _ = measure.sample(pids)
                subprocess.run(
                    [SAGACTL, "load", "--direct", "-n", str(orders), "--rate", f"{rate:g}",
                     "--control", str(control), "--settle", "30"],
                    cwd=ROOT, check=True, capture_output=True, timeout=orders / rate + 120,
                )  # fmt: skip
                after, _ = measure.sample(pids)
                per = {n: (after[n] - before[n]) / orders for n in pids if n in after}
                per["workers (all)"] = sum(v for n, v in per.items() if n in WORKER_NAMES)
                rows.append({"rate": rate, **per})
            return rows
        finally:
            run.send_signal(signal.SIGINT)
            try:
                run.wait(timeout=60)
            except subprocess.TimeoutExpired:
                run.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cohost_bench")
    parser.add_argument("--rates", default="20:600,60:1800", help="RATE:ORDERS,... (direct)")
    args = parser.parse_args(argv)
    rates = parse_rates(args.rates)
    load_before = os.getloadavg()
    results = {mode: measure_mode(mode == "co-hosted", rates) for mode in ("separate", "co-hosted")}
    host = measure.machine(load_before)
    print(f"machine  {host}")
    print("CPU ms per order (sagactl load --direct):")
    for mode, rows in results.items():
        for row in rows:
            others = sorted(
                ((n, v) for n, v in row.items() if n not in ("rate", "workers (all)")),
                key=lambda item: -item[1],
            )
            detail = ", ".join(f"{n} {v:.2f}" for n, v in others)
            print(
                f"  {mode:9} {row['rate']:5.0f}/s  workers {row['workers (all)']:6.2f}  ({detail})"
            )
    print("command: " + shlex.join(["python", "-m", "benchmarks.cohost_bench", *sys.argv[1:]]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
