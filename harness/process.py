"""One supervised child process: the harness's only way to run a server or a service.

The local servers (Kafka, PostgreSQL, Redis) and the platform's processes (through
`harness.supervisor`) are both a `ChildProcess`: started in its own session, so a
terminal's Ctrl-C reaches only the harness and a stop signal reaches the child's whole
process group; its output (stdout and stderr) read line by line into a tail, an optional
log file and an optional per-line callback; readiness by an output line; stopped by a
signal with a deadline, then SIGKILL. One object is one launch: start again by making a
new one.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from harness.waiting import wait_until


class StartupError(RuntimeError):
    """A server process died or did not become ready; the message ends with its log tail."""


class ChildProcess:
    """A child process and what it printed.

    ``log_path``: every output line is appended there. ``on_line(line)`` is called for
    every line too (the supervisor's prefixed terminal stream). ``on_exit(process)`` is
    called once when it has exited and its output is read to the end, before `wait_exit`
    returns. ``oneshot``: it runs to completion, so its exit counts as ``expected``.
    ``signal_group=False`` sends stop signals to the leader only (PostgreSQL's postmaster
    shuts its own children down in order).
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path | None = None,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
        signal_group: bool = True,
        oneshot: bool = False,
        on_line: Callable[[str], None] | None = None,
        on_exit: Callable[[ChildProcess], None] | None = None,
        tail_lines: int = 200,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.user = user
        self.stop_signal = stop_signal
        self.signal_group = signal_group
        self.oneshot = oneshot
        #: True when nobody has to be told about the exit (asked to stop, or a one-shot).
        self.expected = oneshot
        self._on_line = on_line
        self._on_exit = on_exit
        self._popen: subprocess.Popen[bytes] | None = None
        self._tail: deque[str] = deque(maxlen=tail_lines)
        self._watchers: list[tuple[re.Pattern[str], threading.Event]] = []
        self._lock = threading.Lock()
        self._exited = threading.Event()
        self._reader: threading.Thread | None = None

    # -- state ------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    @property
    def running(self) -> bool:
        """Started and not yet exited (the exit code is known the moment it exits)."""
        return self._popen is not None and self._popen.returncode is None

    @property
    def returncode(self) -> int | None:
        """The exit code (negative: killed by that signal), None while it runs."""
        return self._popen.returncode if self._popen else None

    @property
    def exited(self) -> bool:
        """It has exited and its output is read to the end."""
        return self._exited.is_set()

    def lines(self) -> list[str]:
        """The last output lines (up to ``tail_lines``)."""
        with self._lock:
            return list(self._tail)

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.lines()[-lines:])

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> int:
        """Launch it; return its pid. Raises ``OSError`` when the program cannot run."""
        if self._popen is not None:
            raise RuntimeError(f"{self.name} was started already (pid {self.pid})")
        sink: IO[str] | None = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            sink = self.log_path.open("a", encoding="utf-8", buffering=1)
        try:
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,  # own process group: signals reach its children
                user=self.user,
                group=pwd.getpwnam(self.user).pw_gid if self.user else None,
                extra_groups=[] if self.user else None,
            )
        except BaseException:
            if sink is not None:
                sink.close()
            raise
        self._reader = threading.Thread(
            target=self._pump, args=(sink,), name=f"log:{self.name}", daemon=True
        )
        self._reader.start()
        threading.Thread(target=self._reap, name=f"wait:{self.name}", daemon=True).start()
        return self._popen.pid

    def signal(self, sig: signal.Signals, *, group: bool | None = None) -> None:
        """Send ``sig`` to the process group (or the leader only); gone already is fine."""
        if self._popen is None:
            return
        whole = self.signal_group if group is None else group
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if whole:
                os.killpg(self._popen.pid, sig)
            else:
                os.kill(self._popen.pid, sig)

    def stop(
        self, timeout: float = 30.0, *, on_escalate: Callable[[], None] | None = None
    ) -> int | None:
        """Send the stop signal, wait up to ``timeout`` s, then SIGKILL the group (calling
        ``on_escalate`` first). Returns the exit code (None if it never started)."""
        if self._popen is None:
            return None
        if not self._exited.is_set():
            self.expected = True
            self.signal(self.stop_signal)
            if not self._exited.wait(timeout):
                if on_escalate is not None:
                    on_escalate()
                self.signal(signal.SIGKILL, group=True)
                self._exited.wait()
        return self._popen.returncode

    def kill(self) -> int | None:
        """SIGKILL the group at once (a simulated crash); return the exit code."""
        if self._popen is None:
            return None
        if not self._exited.is_set():
            self.expected = True
            self.signal(signal.SIGKILL, group=True)
            self._exited.wait()
        return self._popen.returncode

    # -- waiting ----------------------------------------------------------------------

    def wait_exit(self, timeout: float | None = None) -> bool:
        """Wait until it has exited (output read to the end); False on timeout."""
        return self._exited.wait(timeout)

    def wait(self, timeout: float) -> int:
        """Wait for a one-shot command to exit by itself; kill it after ``timeout`` s."""
        if self._popen is None:
            raise RuntimeError(f"{self.name} was never started")
        if not self._exited.wait(timeout):
            self.kill()
            raise StartupError(f"{self.name} did not finish within {timeout:.0f}s:\n{self.tail()}")
        return self._popen.returncode if self._popen.returncode is not None else -1

    def watch(self, pattern: str | re.Pattern[str]) -> threading.Event:
        """An event set once a line of this run matches ``pattern`` (already printed
        lines count)."""
        compiled = re.compile(pattern) if isinstance(pattern, str) else pattern
        seen = threading.Event()
        with self._lock:
            if any(compiled.search(line) for line in self._tail):
                seen.set()
            self._watchers.append((compiled, seen))
        return seen

    def raise_if_dead(self) -> None:
        if self._popen is not None and self._exited.is_set():
            raise StartupError(
                f"{self.name} exited with code {self._popen.returncode}; {self._where()}"
            )

    def wait_for_output(self, text: str, timeout: float) -> None:
        """Wait until a line containing ``text`` appears; fail fast if the process dies."""
        seen = self.watch(re.escape(text))

        def printed() -> bool:
            if seen.is_set():
                return True
            self.raise_if_dead()
            return False

        try:
            wait_until(
                printed,
                timeout=timeout,
                what=f"{self.name} to log {text!r}",
                sleep=self._exited.wait,
            )
        except TimeoutError as exc:
            raise StartupError(f"{exc}; {self._where()}") from None

    # -- internals --------------------------------------------------------------------

    def _where(self) -> str:
        source = f"log {self.log_path}" if self.log_path else "last lines"
        return f"{source}:\n{self.tail()}"

    def _pump(self, sink: IO[str] | None) -> None:
        assert self._popen is not None and self._popen.stdout is not None
        stdout = self._popen.stdout
        try:
            for raw in iter(stdout.readline, b""):
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                with self._lock:
                    self._tail.append(line)
                    for pattern, seen in self._watchers:
                        if not seen.is_set() and pattern.search(line):
                            seen.set()
                if sink is not None:
                    sink.write(line + "\n")
                if self._on_line is not None:
                    self._on_line(line)
        finally:
            stdout.close()
            if sink is not None:
                sink.close()

    def _reap(self) -> None:
        assert self._popen is not None
        self._popen.wait()
        # Sweep what the process left behind in its group (it holds our pipe open).
        self.signal(signal.SIGKILL, group=True)
        if self._reader is not None:
            # A grandchild that left the group could hold the pipe open forever.
            self._reader.join(timeout=5.0)
        try:
            if self._on_exit is not None:
                self._on_exit(self)
        finally:
            self._exited.set()
