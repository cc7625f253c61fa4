"""``WorkerProcess``: ``python -m <service> worker`` as a child process of a test, its
output in a log file, with the checks integration tests need (alive? the log's tail)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def worker_env(
    bootstrap: str, base: Mapping[str, str] | None = None, **extra: str
) -> dict[str, str]:
    """The environment of a worker under test: this one (or ``base`` over it), the broker
    at ``bootstrap``, this checkout importable, ``extra`` on top; never Faust's web server
    (several workers share the machine)."""
    env = {
        **os.environ,
        **(base or {}),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        **extra,
    }
    env.pop("FAUST_WEB_PORT", None)
    return env


class WorkerProcess:
    """One worker of ``service`` (``payment``, ...), started and stopped by a test.

    Each ``start`` writes a new log file ``<name>-<n>.log`` under ``tmp``.
    """

    def __init__(self, service: str, tmp: Path, env: dict[str, str], *, name: str = "") -> None:
        self.service = service
        self.tmp = tmp
        self.env = env
        self.name = name or f"{service}-worker"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.log_path = tmp / f"{self.name}.log"

    def start(self, **extra_env: str) -> None:
        self.starts += 1
        self.log_path = self.tmp / f"{self.name}-{self.starts}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.service, "worker"],
                cwd=self.tmp,
                env={**self.env, **extra_env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        """Send ``sig`` and wait for the exit; kill the process if it outlives ``timeout``."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def assert_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            pytest.fail(
                f"the {self.service} worker exited with {self.proc.returncode}\n{self.log_tail()}"
            )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])
