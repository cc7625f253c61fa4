"""The supervisor against tiny Python children: output, stop/kill/restart, readiness, crashes."""

from __future__ import annotations

import io
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.healing import RestartPolicy
from harness.supervisor import NotReady, ProcessSpec, Supervisor, SupervisorError
from tests.support import eventually

#: Prints "up" once its SIGTERM behaviour is in place, then waits for a signal.
FOREVER = "import signal; print('up', flush=True); signal.pause()"
STUBBORN = (
    "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
    " print('up', flush=True); signal.pause()"
)


def py(name: str, code: str, *, oneshot: bool = False) -> ProcessSpec:
    return ProcessSpec(name, [sys.executable, "-c", code], oneshot=oneshot)


def once(name: str, code: str) -> ProcessSpec:
    return py(name, code, oneshot=True)


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.fixture
def out() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def sup(out: io.StringIO) -> Iterator[Supervisor]:
    with Supervisor(stream=out, color=False) as supervisor:
        yield supervisor


def test_stdout_and_stderr_lines_are_prefixed_with_the_padded_name(
    sup: Supervisor, out: io.StringIO
) -> None:
    sup.add(once("a-longer-name", "pass"))
    sup.start(once("echo", "import sys; print('hello'); print('oops', file=sys.stderr)"))
    assert sup.wait_exit("echo", 10) == 0
    lines = out.getvalue().splitlines()
    assert "echo          | hello" in lines
    assert "echo          | oops" in lines
    assert sup.tail("echo") == ["hello", "oops"]


def test_names_are_coloured_only_when_asked(out: io.StringIO) -> None:
    with Supervisor(stream=out, color=True) as sup:
        sup.start(once("echo", "print('hi')"))
        sup.wait_exit("echo", 10)
    assert "\x1b[" in out.getvalue()
    plain = io.StringIO()
    with Supervisor(stream=plain) as sup:  # a StringIO is no terminal
        sup.start(once("echo", "print('hi')"))
        sup.wait_exit("echo", 10)
    assert "\x1b[" not in plain.getvalue()


def test_log_dir_gets_one_file_per_process(tmp_path: Path, out: io.StringIO) -> None:
    with Supervisor(stream=out, log_dir=tmp_path) as sup:
        sup.start(once("echo", "print('to the file')"))
        sup.wait_exit("echo", 10)
        assert sup.log_path("echo") == tmp_path / "echo.log"
    assert (tmp_path / "echo.log").read_text() == "to the file\n"
    assert "sagactl | echo finished with code 0" in out.getvalue().splitlines()
    assert "| to the file" not in out.getvalue()
    assert sup.unexpected_exits == []


CHATTY = (
    "import signal, sys; print('[2026-01-01 10:00:00,000] [1] [INFO] banner');"
    " print('| a table row |');"
    " print('2026-01-01 10:00:00,000 WARNING svc: disk nearly full');"
    " print('  and its second line'); print('Traceback (most recent call last):');"
    " print('ValueError: boom'); print('[2026-01-01 10:00:01,000] [1] [INFO] up', flush=True);"
    " signal.pause()"
)


def test_a_quiet_terminal_shows_ready_warnings_and_errors_the_log_file_everything(
    tmp_path: Path, out: io.StringIO
) -> None:
    with Supervisor(stream=out, log_dir=tmp_path, echo=True, verbose=False) as sup:
        sup.start(once("setup", "print('seeded 24 products')"))
        sup.wait_exit("setup", 10)
        sup.start(py("svc", CHATTY))
        # Readiness still sees the lines the terminal hides.
        sup.wait_ready("svc", sup.line_seen("svc", r"\[INFO\] up$"), timeout=10)
        sup.announce_ready("svc")
        sup.announce_ready("svc")  # once per run
        pid = sup.pid("svc")
    assert out.getvalue().splitlines() == [
        "sagactl | setup finished with code 0",
        "svc     | 2026-01-01 10:00:00,000 WARNING svc: disk nearly full",
        "svc     |   and its second line",
        "svc     | Traceback (most recent call last):",
        "svc     | ValueError: boom",
        f"svc     | ready (pid {pid})",
    ]
    log = (tmp_path / "svc.log").read_text().splitlines()
    assert log[0] == "[2026-01-01 10:00:00,000] [1] [INFO] banner"
    assert len(log) == 7
    assert (tmp_path / "setup.log").read_text() == "seeded 24 products\n"


def test_a_verbose_terminal_with_a_log_dir_shows_every_line(
    tmp_path: Path, out: io.StringIO
) -> None:
    with Supervisor(stream=out, log_dir=tmp_path, echo=True) as sup:
        sup.start(once("echo", "print('[2026-01-01 10:00:00,000] [1] [INFO] chatter')"))
        sup.wait_exit("echo", 10)
    assert "echo    | [2026-01-01 10:00:00,000] [1] [INFO] chatter" in out.getvalue()
    assert "sagactl | started echo" in out.getvalue()
    assert (tmp_path / "echo.log").read_text().startswith("[2026")


def test_a_quiet_terminal_still_shows_crashes_and_restarts(out: io.StringIO) -> None:
    policy = RestartPolicy(initial=0.05, cap=0.05)
    with Supervisor(stream=out, restart=policy, verbose=False) as sup:
        sup.start(py("crashy", "import sys; print('lost my marbles'); sys.exit(2)"))
        eventually(lambda: sup.restarts("crashy") >= 1, timeout=10, what="a restart")
        sup.stop_all()
    text = out.getvalue()
    assert "!!! crashy" in text and "exited unexpectedly with code 2" in text
    assert "    lost my marbles" in text  # the last lines, in the crash report
    assert "restarting crashy in" in text
    assert "restarted crashy (pid" in text
    assert "| started crashy" not in text
    assert "crashy  | lost my marbles" not in text  # the process's own INFO line


def test_stop_sends_sigterm_and_is_not_reported_as_a_crash(sup: Supervisor) -> None:
    sup.start(py("svc", FOREVER))
    sup.wait_ready("svc", sup.line_seen("svc", "^up$"), timeout=10)
    assert sup.stop("svc") == -15
    assert not sup.is_running("svc")
    assert sup.unexpected_exits == []


def test_stop_escalates_to_sigkill_after_the_deadline(sup: Supervisor, out: io.StringIO) -> None:
    sup.start(py("stubborn", STUBBORN))
    sup.wait_ready("stubborn", sup.line_seen("stubborn", "up"), timeout=10)
    assert sup.stop("stubborn", timeout=0.3) == -9
    assert "did not stop within 0.3s after SIGTERM; sending SIGKILL" in out.getvalue()


def test_kill_and_start_again(sup: Supervisor) -> None:
    first = sup.start(py("svc", FOREVER))
    sup.wait_ready("svc", sup.line_seen("svc", "up"), timeout=10)
    assert sup.kill("svc") == -9
    assert sup.returncode("svc") == -9
    assert sup.unexpected_exits == []
    second = sup.start("svc")
    assert second != first
    sup.wait_ready("svc", sup.line_seen("svc", "up"), timeout=10)
    assert sup.is_running("svc")


def test_restart_gives_a_new_run_with_fresh_readiness(sup: Supervisor) -> None:
    sup.start(py("svc", FOREVER))
    sup.wait_ready("svc", sup.line_seen("svc", "up"), timeout=10)
    pid = sup.restart("svc")
    assert sup.pid("svc") == pid
    sup.wait_ready("svc", sup.line_seen("svc", "up"), timeout=10)


def test_stop_takes_the_whole_process_group_down(sup: Supervisor) -> None:
    code = (
        "import signal, subprocess, sys;"
        " child = subprocess.Popen([sys.executable, '-c', 'import signal; signal.pause()']);"
        " print('child', child.pid, flush=True); signal.pause()"
    )
    sup.start(py("parent", code))
    sup.wait_ready("parent", sup.line_seen("parent", r"^child \d+$"), timeout=10)
    child = int(sup.tail("parent")[-1].split()[1])
    assert alive(child)
    sup.stop("parent")
    eventually(lambda: not alive(child), timeout=10.0, what="the child to exit")


def test_wait_ready_timeout_names_the_process_and_shows_its_last_lines(sup: Supervisor) -> None:
    sup.start(py("slow", "import signal; print('still booting', flush=True); signal.pause()"))
    eventually(lambda: sup.tail("slow") == ["still booting"], timeout=10.0, what="its output")
    with pytest.raises(NotReady) as info:
        sup.wait_ready("slow", lambda: False, timeout=0.3)
    message = str(info.value)
    assert "slow was not ready within 0.3s" in message
    assert "still booting" in message


def test_wait_ready_reports_the_last_check_error(sup: Supervisor) -> None:
    sup.start(py("svc", FOREVER))

    def check() -> bool:
        raise ConnectionRefusedError("nobody home")

    with pytest.raises(NotReady, match=r"last check: ConnectionRefusedError: nobody home"):
        sup.wait_ready("svc", check, timeout=0.3)


def test_wait_ready_fails_fast_when_the_process_exits(sup: Supervisor) -> None:
    sup.start(py("doomed", "import sys; print('boom: no config'); sys.exit(3)"))
    started = time.monotonic()
    with pytest.raises(NotReady) as info:
        sup.wait_ready("doomed", lambda: False, timeout=30)
    assert time.monotonic() - started < 10
    assert "doomed exited with code 3 before it was ready" in str(info.value)
    assert "boom: no config" in str(info.value)


def test_unexpected_exit_is_reported_loudly_and_the_others_keep_running(out: io.StringIO) -> None:
    crashed = threading.Event()
    seen = []

    def on_exit(event: object) -> None:
        seen.append(event)
        crashed.set()

    with Supervisor(stream=out, on_unexpected_exit=on_exit) as sup:
        sup.start(py("steady", FOREVER))
        sup.wait_ready("steady", sup.line_seen("steady", "up"), timeout=10)
        sup.start(py("crashy", "import sys; print('fatal: lost my marbles'); sys.exit(2)"))
        assert crashed.wait(10)
        assert sup.is_running("steady")
        assert sup.running() == ["steady"]
    [event] = sup.unexpected_exits
    assert seen == [event]
    assert (event.name, event.returncode, event.expected) == ("crashy", 2, False)
    assert event.tail == ("fatal: lost my marbles",)
    assert "!!! crashy" in out.getvalue()
    assert "exited unexpectedly with code 2" in out.getvalue()


def test_a_oneshot_exit_is_expected_even_when_it_fails(sup: Supervisor, out: io.StringIO) -> None:
    sup.start(once("migrate", "import sys; sys.exit(4)"))
    assert sup.wait_exit("migrate", 10) == 4
    assert "sagactl | migrate finished with code 4" in out.getvalue().splitlines()
    assert sup.unexpected_exits == []


def test_stop_all_stops_in_reverse_start_order(sup: Supervisor, out: io.StringIO) -> None:
    for name in ("first", "second", "third"):
        sup.start(py(name, FOREVER))
        sup.wait_ready(name, sup.line_seen(name, "up"), timeout=10)
    sup.stop_all()
    stopped = [line.split()[2] for line in out.getvalue().splitlines() if " stopped:" in line]
    assert stopped == ["third", "second", "first"]
    assert sup.running() == []


def test_an_interrupt_during_stop_all_still_stops_everything(
    sup: Supervisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    pids = {}
    for name in ("first", "second", "third"):
        pids[name] = sup.start(py(name, FOREVER))
        sup.wait_ready(name, sup.line_seen(name, "up"), timeout=10)
    plain_stop = sup.stop
    interrupts = ["second"]

    def stop(name: str, timeout: float | None = None) -> int | None:
        if name in interrupts:  # Ctrl-C arrives while "second" is being stopped
            interrupts.remove(name)
            raise KeyboardInterrupt
        return plain_stop(name, timeout)

    monkeypatch.setattr(sup, "stop", stop)
    with pytest.raises(KeyboardInterrupt):
        sup.stop_all()
    assert sup.running() == []
    assert [name for name, pid in pids.items() if alive(pid)] == []


def test_wait_exit_times_out_with_the_tail(sup: Supervisor) -> None:
    sup.start(py("svc", FOREVER))
    with pytest.raises(NotReady, match=r"svc did not finish within 0\.2s"):
        sup.wait_exit("svc", 0.2)


def test_misuse_is_explained(sup: Supervisor) -> None:
    sup.start(py("svc", FOREVER))
    with pytest.raises(SupervisorError, match="svc is already running"):
        sup.start("svc")
    with pytest.raises(SupervisorError, match=r"unknown process 'nope'; known: svc"):
        sup.start("nope")
    with pytest.raises(SupervisorError, match="unknown process 'nope'"):
        sup.stop("nope")
    with pytest.raises(SupervisorError, match="cannot start missing"):
        sup.start(ProcessSpec("missing", [os.devnull + "-no-such-program"]))
