"""A small process supervisor: named subprocesses, prefixed logs, stop/kill/restart, readiness.

Each launch is a `harness.process.ChildProcess` (the harness's one process class); this
adds names, the merged prefixed log stream, exit reports and readiness checks.

Why not supervisord, circus or honcho: the platform needs workers added and removed
while it runs (`sagactl scale`, over `harness.control`), a per-process readiness check
(an HTTP probe or a log line) before a start counts as done, and its processes in this
Python process so tests can crash and restart them. honcho cannot scale a running set;
supervisord and circus are daemons with their own config and control protocol (circus
needs ZeroMQ), and neither waits on a readiness probe. The own code is the small part
they would not replace.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TextIO

from harness.healing import Healing, RestartPolicy
from harness.process import ChildProcess
from harness.terminal import QUIET, Level, LineFilter
from harness.waiting import wait_until

#: Name used for the supervisor's own messages in the merged log stream.
SELF_NAME = "sagactl"
#: ANSI colours given to process names in turn (only when writing to a terminal).
_PALETTE = ("36", "33", "32", "35", "34", "96", "93", "92", "95", "94")
_LOUD = "1;31"


class SupervisorError(Exception):
    """A process could not be started, found, or made ready."""


class NotReady(SupervisorError):
    """A process exited or timed out before its readiness check passed."""

    def __init__(self, name: str, reason: str, tail: Sequence[str]) -> None:
        self.name = name
        self.reason = reason
        self.tail = list(tail)[-40:]
        lines = "\n".join(f"    {line}" for line in self.tail) or "    (no output)"
        super().__init__(f"{name} {reason}\n  last {len(self.tail)} lines of {name}:\n{lines}")


@dataclass(frozen=True)
class ProcessSpec:
    """How to launch one named process."""

    name: str
    argv: Sequence[str]
    #: Added to (and overriding) the supervisor's own environment.
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    #: How long `stop` waits after SIGTERM before it sends SIGKILL.
    stop_timeout: float = 10.0
    #: Runs to completion (a migration): its exit is expected, not a crash.
    oneshot: bool = False


@dataclass(frozen=True)
class Exit:
    """A process that has exited, and whether someone asked it to."""

    name: str
    returncode: int
    expected: bool
    tail: tuple[str, ...]

    @property
    def description(self) -> str:
        return describe_returncode(self.returncode)


def describe_returncode(code: int) -> str:
    """`code 1` or `signal SIGKILL`, as Popen reports a process's end."""
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


class Supervisor:
    """Starts named processes, each in its own process group, and streams their output.

    Output goes line by line to ``stream`` prefixed with the padded process name
    (coloured on a terminal), or, when ``log_dir`` is given, to ``log_dir/<name>.log``
    (and to ``stream`` as well with ``echo=True``). The supervisor's own messages (start,
    stop, ready, unexpected exits) always go to ``stream``. With ``verbose=False``,
    ``stream`` gets only what `harness.terminal` keeps for a quiet terminal (warnings,
    errors, tracebacks, and the supervisor's ready, restart and crash lines); the log
    files and readiness checks still see every line.

    With a ``restart`` policy, a process that exits unexpectedly (not a one-shot, not
    stopped or killed through this supervisor) is started again after the policy's
    backoff, and a crash loop is reported loudly; without one it stays down. A deliberate
    `stop`, `kill` or `stop_all` is never undone, and a `start` replaces a pending restart.
    """

    def __init__(
        self,
        *,
        stream: TextIO | None = None,
        log_dir: Path | None = None,
        color: bool | None = None,
        on_unexpected_exit: Callable[[Exit], None] | None = None,
        tail_lines: int = 200,
        restart: RestartPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        echo: bool | None = None,
        verbose: bool = True,
        on_started: Callable[[str, int], None] | None = None,
    ) -> None:
        #: Called with (name, pid) after every start, restarts after a crash included.
        self._on_started = on_started
        self._stream: TextIO = stream if stream is not None else sys.stdout
        self._log_dir = log_dir
        #: Process output goes to ``stream`` (by default only without a log dir).
        self._echo = log_dir is None if echo is None else echo
        self.verbose = verbose
        #: name -> the pid whose readiness was announced (once per run).
        self._announced: dict[str, int] = {}
        if color is None:
            color = _isatty(self._stream) and not os.environ.get("NO_COLOR")
        self._color = color
        self._on_unexpected_exit = on_unexpected_exit
        self._tail_lines = tail_lines
        self._specs: dict[str, ProcessSpec] = {}
        self._runs: dict[str, ChildProcess] = {}
        self._started: list[str] = []
        self._lock = threading.RLock()
        self._write_lock = threading.Lock()
        #: Every exit nobody asked for, oldest first.
        self.unexpected_exits: list[Exit] = []
        self.restart_policy = restart
        self._clock = clock
        self._healing: dict[str, Healing] = {}
        self._started_at: dict[str, float] = {}
        #: name -> the timer of its pending restart (cancelled by stop, kill, start).
        self._pending: dict[str, threading.Timer] = {}
        #: Set by `stop_all`: no process is restarted after it.
        self._closing = False
        #: Names paused (SIGSTOP) by `pause` and not resumed yet.
        self._paused: set[str] = set()
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)

    # -- registry ---------------------------------------------------------------------

    def add(self, spec: ProcessSpec) -> None:
        """Register a process without starting it (so its name counts for padding)."""
        with self._lock:
            if spec.name in self._specs and self.is_running(spec.name):
                raise SupervisorError(f"{spec.name} is running; stop it before replacing it")
            self._specs[spec.name] = spec

    @property
    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        return list(self._specs)

    def running(self) -> list[str]:
        """Names of the processes running now, in start order."""
        return [name for name in self._started if self.is_running(name)]

    # -- lifecycle --------------------------------------------------------------------

    def start(self, target: ProcessSpec | str) -> int:
        """Start a process (a new spec, or a registered name again); return its pid.
        A restart pending for it is cancelled (this start replaces it)."""
        with self._lock:
            self._closing = False
            return self._start(target)

    def _start(
        self, target: ProcessSpec | str, verb: str = "started", level: Level = Level.INFO
    ) -> int:
        with self._lock:
            if isinstance(target, ProcessSpec):
                self.add(target)
                name = target.name
            else:
                name = target
            if self.is_running(name):
                raise SupervisorError(f"{name} is already running (pid {self.pid(name)})")
            spec = self._spec(name)
            self._cancel_restart(name)
            self._paused.discard(name)
            shown = LineFilter(self.verbose)
            process = ChildProcess(
                name,
                spec.argv,
                self.log_path(name),
                env={**os.environ, "PYTHONUNBUFFERED": "1", **spec.env},
                cwd=spec.cwd,
                oneshot=spec.oneshot,
                on_line=partial(self._echo_line, name, shown) if self._echo else None,
                on_exit=self._exited,
                tail_lines=self._tail_lines,
            )
            try:
                pid = process.start()
            except OSError as exc:
                raise SupervisorError(f"cannot start {name} ({spec.argv[0]}): {exc}") from exc
            self._runs[name] = process
            if self._on_started is not None:
                self._on_started(name, pid)
            self._started_at[name] = self._clock()
            if name in self._started:
                self._started.remove(name)
            self._started.append(name)
            self._say(f"{verb} {name} (pid {pid}): {' '.join(spec.argv)}", level)
            return pid

    def stop(self, name: str, timeout: float | None = None) -> int | None:
        """SIGTERM the process group, SIGKILL it after ``timeout``; return the exit code.
        A restart pending for it is cancelled: it stays stopped."""
        spec = self._spec(name)
        with self._lock:
            self._cancel_restart(name)
        process = self._runs.get(name)
        if process is None:
            return None
        if name in self._paused:  # a stopped process cannot handle SIGTERM
            self.resume(name)
        deadline = spec.stop_timeout if timeout is None else timeout
        return process.stop(
            deadline,
            on_escalate=lambda: self._say(
                f"{name} did not stop within {deadline:g}s after SIGTERM; sending SIGKILL",
                Level.WARNING,
            ),
        )

    def kill(self, name: str) -> int | None:
        """SIGKILL the process group at once (a simulated crash, but a deliberate one: it is
        not restarted); return the exit code."""
        self._spec(name)
        with self._lock:
            self._cancel_restart(name)
            self._paused.discard(name)
        process = self._runs.get(name)
        return None if process is None else process.kill()

    def crash(self, name: str) -> int | None:
        """SIGKILL the process group as a crash would: the exit is unexpected, so a
        ``restart`` policy brings the process back (the dashboard's chaos *kill*). Returns
        the pid killed (None when it was not running)."""
        self._spec(name)
        with self._lock:
            process = self._runs.get(name)
            if process is None or not process.running:
                return None
            self._paused.discard(name)
            pid = process.pid
        process.signal(signal.SIGKILL, group=True)
        return pid

    def pause(self, name: str) -> None:
        """SIGSTOP the process group: it stays alive but does nothing (its Kafka session
        expires, its group rebalances) until `resume`."""
        with self._lock:
            process = self._run(name)
            if not process.running:
                raise SupervisorError(f"{name} is not running")
            process.signal(signal.SIGSTOP, group=True)
            self._paused.add(name)

    def resume(self, name: str) -> None:
        """SIGCONT a paused process group."""
        with self._lock:
            process = self._run(name)
            process.signal(signal.SIGCONT, group=True)
            self._paused.discard(name)

    def is_paused(self, name: str) -> bool:
        return name in self._paused and self.is_running(name)

    def restart(self, name: str, timeout: float | None = None) -> int:
        """Stop a process (if running) and start it again; return the new pid."""
        self.stop(name, timeout)
        return self.start(name)

    def stop_all(self, timeout: float | None = None) -> None:
        """Stop every running process, the most recently started first; no restarts after.

        Ctrl-C or SIGTERM (a ``KeyboardInterrupt``) arriving meanwhile does not cut the
        stop short: the process being stopped and every one after it are still stopped,
        then the interrupt is raised. (A stop begun by a failed start, interrupted this
        way, left the first-started processes running, orphaned, with the stack gone.)
        """
        with self._lock:
            self._closing = True
            for name in list(self._pending):
                self._cancel_restart(name)
        interrupted: KeyboardInterrupt | None = None
        for name in reversed(list(self._started)):
            while True:
                try:
                    self.stop(name, timeout)
                    break
                except KeyboardInterrupt as exc:
                    interrupted = exc
        if interrupted is not None:
            raise interrupted

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_all()

    # -- waiting ----------------------------------------------------------------------

    def wait_ready(
        self,
        name: str,
        check: Callable[[], bool] | None,
        timeout: float,
        interval: float = 0.1,
    ) -> None:
        """Poll ``check`` until it returns true; raise `NotReady` if the process exits first
        or ``timeout`` passes. A check that raises counts as not ready yet. With no check,
        the process only has to be running."""
        process = self._run(name)
        last_error = ""

        def ready() -> bool:
            nonlocal last_error
            if process.exited:
                code = describe_returncode(process.returncode or 0)
                raise NotReady(name, f"exited with {code} before it was ready", process.lines())
            if check is None:
                return True
            try:
                if check():
                    return True
                last_error = ""
            except Exception as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            return False

        try:
            wait_until(
                ready, timeout=timeout, what=name, interval=interval, sleep=process.wait_exit
            )
        except TimeoutError:
            why = f" (last check: {last_error})" if last_error else ""
            reason = f"was not ready within {timeout:g}s{why}"
            raise NotReady(name, reason, process.lines()) from None

    def announce_ready(self, name: str) -> None:
        """Say once per run that ``name`` is ready: the one line a quiet terminal shows
        for a process that started well."""
        pid = self.pid(name)
        with self._lock:
            if self._announced.get(name) == pid:
                return
            self._announced[name] = pid
        if self._shows(Level.NOTICE):
            self._emit(name, f"ready (pid {pid})")

    def wait_exit(self, name: str, timeout: float) -> int:
        """Wait for a process to exit by itself; return its exit code."""
        process = self._run(name)
        if not process.wait_exit(timeout):
            raise NotReady(name, f"did not finish within {timeout:g}s", process.lines())
        return process.returncode or 0

    def line_seen(self, name: str, pattern: str) -> Callable[[], bool]:
        """A readiness check: true once the current run has printed a line matching
        ``pattern`` (a regular expression)."""
        return self._run(name).watch(pattern).is_set

    # -- state ------------------------------------------------------------------------

    def is_running(self, name: str) -> bool:
        process = self._runs.get(name)
        return process is not None and process.running

    def is_restarting(self, name: str) -> bool:
        """Down after a crash, with its restart scheduled."""
        return name in self._pending

    def restarts(self, name: str) -> int:
        """How many times the supervisor restarted ``name`` after a crash."""
        healing = self._healing.get(name)
        return healing.restarts if healing is not None else 0

    def crash_looping(self, name: str) -> bool:
        healing = self._healing.get(name)
        return healing is not None and healing.looping(self._clock())

    def state(self, name: str) -> str:
        """``running``, ``paused`` (SIGSTOP by `pause`), ``restarting`` (waiting out its
        backoff), ``crash-looping`` (crashed again and again lately, running or not) or
        ``stopped``."""
        if self.crash_looping(name) and (self.is_running(name) or self.is_restarting(name)):
            return "crash-looping"
        if self.is_paused(name):
            return "paused"
        if self.is_running(name):
            return "running"
        if self.is_restarting(name):
            return "restarting"
        return "stopped"

    def pid(self, name: str) -> int:
        return self._run(name).pid or 0

    def returncode(self, name: str) -> int | None:
        """The exit code of the latest run, or None while it runs (or never ran)."""
        process = self._runs.get(name)
        return process.returncode if process is not None else None

    def tail(self, name: str, lines: int = 20) -> list[str]:
        """The last output lines of the latest run."""
        return self._run(name).lines()[-lines:]

    def log_path(self, name: str) -> Path | None:
        return None if self._log_dir is None else self._log_dir / f"{name}.log"

    # -- internals --------------------------------------------------------------------

    def _spec(self, name: str) -> ProcessSpec:
        try:
            return self._specs[name]
        except KeyError:
            known = ", ".join(self._specs) or "none"
            raise SupervisorError(f"unknown process {name!r}; known: {known}") from None

    def _run(self, name: str) -> ChildProcess:
        self._spec(name)
        run = self._runs.get(name)
        if run is None:
            raise SupervisorError(f"{name} has not been started")
        return run

    def _exited(self, process: ChildProcess) -> None:
        """Report an exit (the process calls this once its output is read to the end)."""
        name = process.name
        code = process.returncode if process.returncode is not None else 0
        event = Exit(name, code, process.expected, tuple(process.lines()))
        if process.expected:
            if process.oneshot:
                level = Level.ERROR if code else Level.NOTICE
                self._say(f"{name} finished with {event.description}", level, loud=code > 0)
            else:
                level = Level.WARNING if code > 0 else Level.INFO
                self._say(f"{name} stopped: {event.description}", level, loud=code > 0)
            return
        self.unexpected_exits.append(event)
        lines = "".join(f"\n    {line}" for line in event.tail[-10:])
        self._say(
            f"!!! {name} (pid {process.pid}) exited unexpectedly with {event.description};"
            f" last lines:{lines or ' (no output)'}",
            Level.ERROR,
            loud=True,
        )
        if self._on_unexpected_exit is not None:
            self._on_unexpected_exit(event)
        self._schedule_restart(process)

    def _schedule_restart(self, process: ChildProcess) -> None:
        """Start ``process``'s name again after the policy's backoff (if there is a
        policy, nobody stopped everything, and no other run replaced this one)."""
        name = process.name
        policy = self.restart_policy
        with self._lock:
            if policy is None or process.oneshot or self._closing:
                return
            if self._runs.get(name) is not process or name in self._pending:
                return
            healing = self._healing.setdefault(name, Healing(policy))
            now = self._clock()
            delay = healing.crashed(self._started_at.get(name, now), now)
            timer = threading.Timer(delay, self._revive, args=(process,))
            timer.daemon = True
            timer.name = f"restart:{name}"
            self._pending[name] = timer
            looping = healing.looping(now)
        self._say(
            f"restarting {name} in {delay:g}s (restart #{healing.restarts + 1})", Level.NOTICE
        )
        if looping:
            self._say(
                f"!!! {name} is CRASH-LOOPING: {len(healing.crashes)} crashes, at least"
                f" {policy.loop_restarts} within {policy.loop_window:g}s; it is restarted"
                f" with backoff up to {policy.cap:g}s until it stays up. Look at its last"
                " lines above.",
                Level.ERROR,
                loud=True,
            )
        timer.start()

    def _revive(self, process: ChildProcess) -> None:
        name = process.name
        with self._lock:
            timer = self._pending.get(name)
            if timer is None or timer is not threading.current_thread():
                return  # cancelled, or replaced by a start/stop meanwhile
            del self._pending[name]
            if self._closing or self._runs.get(name) is not process or self.is_running(name):
                return
            try:
                self._start(name, "restarted", Level.NOTICE)
            except SupervisorError as exc:
                self._say(f"!!! cannot restart {name}: {exc}", Level.ERROR, loud=True)
                self._schedule_restart(process)
                return
            self._healing[name].restarted()

    def _cancel_restart(self, name: str) -> None:
        timer = self._pending.pop(name, None)
        if timer is not None:
            timer.cancel()

    def _width(self) -> int:
        return max([len(SELF_NAME), *(len(name) for name in self._specs)])

    def _paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self._color else text

    def _emit(self, name: str, line: str, *, loud: bool = False) -> None:
        names = list(self._specs)
        colour = _PALETTE[names.index(name) % len(_PALETTE)] if name in names else "1"
        prefix = self._paint(f"{name:<{self._width()}} |", _LOUD if loud else colour)
        with self._write_lock:
            self._stream.write(f"{prefix} {self._paint(line, _LOUD) if loud else line}\n")
            self._stream.flush()

    def _shows(self, level: Level) -> bool:
        return self.verbose or level >= QUIET

    def _echo_line(self, name: str, shown: LineFilter, line: str) -> None:
        if shown(line):
            self._emit(name, line)

    def _say(self, message: str, level: Level = Level.INFO, *, loud: bool = False) -> None:
        """The supervisor's own message; on a quiet terminal only from `QUIET` up."""
        if not self._shows(level):
            return
        for line in message.splitlines() or [""]:
            self._emit(SELF_NAME, line, loud=loud)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
