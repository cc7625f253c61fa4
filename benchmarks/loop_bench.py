"""The gateway's CPU per request on each event loop: ``python -m benchmarks.loop_bench``.

Not a test (pytest does not collect it). Run it against a stack::

    .venv/bin/sagactl stack -- .venv/bin/python -m benchmarks.loop_bench

It starts two gateways (``python -m gateway``, daphne) on free loopback ports, one with
``EVENT_LOOP=asyncio`` and one with ``EVENT_LOOP=uvloop``, so that both run under the
same load of the machine; warms each up with 50 requests, then for each ``--rounds``
sends ``--requests`` ``GET --path`` requests to each from ``--connections`` concurrent
clients per gateway, interleaved, and prints each daphne's CPU time (utime + stime from
``/proc``) per request. On a shared machine only the comparison within a round means
something. Both gateways are stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from config.env import EVENT_LOOPS

ROOT = Path(__file__).resolve().parents[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def gateways(log_dir: Path) -> Iterator[dict[str, tuple[int, int]]]:
    """One gateway per event loop: ``{loop: (port, pid)}``."""
    started: dict[str, tuple[int, subprocess.Popen[bytes]]] = {}
    try:
        for loop in EVENT_LOOPS:
            port = free_port()
            argv = [sys.executable, "-m", "gateway", "-b", "127.0.0.1", "-p", str(port)]
            with (log_dir / f"gateway-{loop}.log").open("wb") as log:
                process = subprocess.Popen(
                    [*argv, "gateway.asgi:application"],
                    cwd=ROOT,
                    env={**os.environ, "EVENT_LOOP": loop},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            started[loop] = (port, process)
        yield {loop: (port, process.pid) for loop, (port, process) in started.items()}
    finally:
        for _, process in started.values():
            process.terminate()
        for _, process in started.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def run(args: argparse.Namespace, servers: dict[str, tuple[int, int]]) -> int:
    import aiohttp

    async with aiohttp.ClientSession() as session:

        async def get(port: int) -> None:
            async with session.get(f"http://127.0.0.1:{port}{args.path}") as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"GET {args.path} on port {port}: {response.status}")

        deadline = time.monotonic() + args.start_timeout
        for loop, (port, _) in servers.items():
            while True:
                try:
                    await get(port)
                    break
                except (aiohttp.ClientError, RuntimeError):
                    if time.monotonic() > deadline:
                        print(f"the {loop} gateway did not answer within {args.start_timeout}s")
                        return 1
                    await asyncio.sleep(0.5)
            for _ in range(50):
                await get(port)

        async def client(port: int, count: int) -> None:
            for _ in range(count):
                await get(port)

        per_client = max(1, args.requests // args.connections)
        total = per_client * args.connections
        for number in range(1, args.rounds + 1):
            before = {loop: cpu_seconds(pid) for loop, (_, pid) in servers.items()}
            await asyncio.gather(
                *(
                    client(port, per_client)
                    for _ in range(args.connections)
                    for port, _ in servers.values()
                )
            )
            after = {loop: cpu_seconds(pid) for loop, (_, pid) in servers.items()}
            figures = "  ".join(
                f"{loop} {(after[loop] - before[loop]) / total * 1e3:.3f} ms" for loop in servers
            )
            print(
                f"round {number}: {total} x GET {args.path} each, CPU per request: {figures}"
                f"  (load average {os.getloadavg()[0]:.2f})"
            )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="/health")
    parser.add_argument("--requests", type=int, default=4000, help="per gateway per round")
    parser.add_argument("--connections", type=int, default=8, help="per gateway")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--start-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    if not os.environ.get("DATABASE_URL"):
        print("DATABASE_URL is not set: run it under `sagactl stack -- ...`")
        return 2
    print("command:", " ".join(["python", "-m", "benchmarks.loop_bench", *(argv or sys.argv[1:])]))
    log_dir = Path(tempfile.mkdtemp(prefix="loop-bench-"))
    print(f"gateway logs in {log_dir}")
    with gateways(log_dir) as servers:
        return asyncio.run(run(args, servers))


if __name__ == "__main__":
    sys.exit(main())
