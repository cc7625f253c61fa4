"""One supervised server process: output in a log file, stopped by a signal with a deadline."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.waiting import wait_until


class StartupError(RuntimeError):
    """A server process died or did not become ready; the message ends with its log tail."""


class ChildProcess:
    """A server started in its own session, so a terminal's Ctrl-C reaches only the harness.

    Output (stdout and stderr) is appended to ``log_path``; each ``start()`` remembers
    where its output begins, so readiness checks after a restart see only new lines.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.user = user
        self.stop_signal = stop_signal
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_start = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                user=self.user,
                group=pwd.getpwnam(self.user).pw_gid if self.user else None,
                extra_groups=[] if self.user else None,
            )

    def output(self) -> str:
        """Everything the current run has written so far."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_start)
                return log.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def raise_if_dead(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            raise StartupError(
                f"{self.name} exited with code {self._proc.returncode}; "
                f"log {self.log_path}:\n{self.tail()}"
            )

    def wait_for_output(self, text: str, timeout: float) -> None:
        """Wait until ``text`` appears in this run's output; fail fast if the process dies."""

        def seen() -> bool:
            if text in self.output():
                return True
            self.raise_if_dead()
            return False

        try:
            wait_until(seen, timeout=timeout, what=f"{self.name} to log {text!r}")
        except TimeoutError as exc:
            raise StartupError(f"{exc}; log {self.log_path}:\n{self.tail()}") from None

    def wait(self, timeout: float) -> int:
        """Wait for a one-shot command to exit by itself; kill it after ``timeout`` s."""
        if self._proc is None:
            raise RuntimeError(f"{self.name} was never started")
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
            raise StartupError(
                f"{self.name} did not finish within {timeout:.0f}s:\n{self.tail()}"
            ) from None

    def stop(self, timeout: float = 30.0) -> int | None:
        """Send the stop signal, wait up to ``timeout`` s, then kill. Returns the exit code."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            try:
                os.kill(proc.pid, self.stop_signal)
                proc.wait(timeout)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode
