"""The restart policy (pure) and the supervisor healing tiny Python children with it."""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

import pytest

from harness.healing import Healing, RestartPolicy, backoff, crash_looping
from harness.supervisor import ProcessSpec, Supervisor

POLICY = RestartPolicy(initial=0.5, factor=2, cap=30, stable_after=30, loop_restarts=5)
FOREVER = "import signal; print('up', flush=True); signal.pause()"


def test_backoff_doubles_from_the_initial_delay_up_to_the_cap() -> None:
    delays = []
    previous = None
    for _ in range(10):
        previous = backoff(POLICY, previous, uptime=1.0)
        delays.append(previous)
    assert delays == [0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30]


def test_backoff_starts_over_after_a_run_that_stayed_up() -> None:
    assert backoff(POLICY, 16.0, uptime=29.9) == 30
    assert backoff(POLICY, 16.0, uptime=30.0) == 0.5


def test_a_crash_loop_is_enough_crashes_within_the_window() -> None:
    assert not crash_looping(POLICY, [0, 10, 20, 30], now=30)
    assert crash_looping(POLICY, [0, 10, 20, 30, 40], now=40)
    assert not crash_looping(POLICY, [0, 10, 20, 30, 40], now=60)  # the first is too old


def test_healing_counts_restarts_and_reports_a_loop_until_it_stays_up() -> None:
    healing = Healing(POLICY)
    now = 0.0
    for _ in range(6):
        healing.crashed(started_at=now, now=now + 1)
        healing.restarted()
        now += 2
    assert healing.restarts == 6
    assert healing.delay == 16
    assert healing.looping(now)
    assert not healing.looping(now + 61)
    assert healing.crashed(started_at=now, now=now + 61) == 0.5


def test_a_bad_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="bad restart policy"):
        RestartPolicy(initial=0)


FAST = RestartPolicy(initial=0.05, factor=2, cap=0.2, stable_after=30, loop_restarts=3)


def py(name: str, code: str) -> ProcessSpec:
    return ProcessSpec(name, [sys.executable, "-c", code])


def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        threading.Event().wait(0.02)


def test_a_killed_process_is_restarted_and_counted() -> None:
    out = io.StringIO()
    with Supervisor(stream=out, color=False, restart=FAST) as sup:
        first = sup.start(py("svc", FOREVER))
        sup.wait_ready("svc", sup.line_seen("svc", "up"), timeout=10)
        os.kill(first, signal.SIGKILL)  # a crash nobody asked for
        eventually(lambda: sup.is_running("svc") and sup.pid("svc") != first)
        assert sup.restarts("svc") == 1
        assert sup.state("svc") == "running"
        text = out.getvalue()
        assert "svc (pid" in text and "exited unexpectedly with signal SIGKILL" in text
        assert "restarting svc in 0.05s (restart #1)" in text


def test_a_crash_loop_is_reported_loudly_and_retried_at_the_cap() -> None:
    out = io.StringIO()
    with Supervisor(stream=out, color=False, restart=FAST) as sup:
        sup.start(py("crashy", "import sys; print('fatal: no config'); sys.exit(3)"))
        eventually(lambda: sup.restarts("crashy") >= 4)
        assert sup.state("crashy") == "crash-looping"
        text = out.getvalue()
    assert "!!! crashy is CRASH-LOOPING" in text
    assert "fatal: no config" in text
    assert "restarting crashy in 0.2s" in text  # at the cap, still retrying


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_a_deliberate_stop_or_kill_is_never_restarted(how: str) -> None:
    with Supervisor(stream=io.StringIO(), restart=FAST) as sup:
        sup.start(py("svc", FOREVER))
        sup.wait_ready("svc", sup.line_seen("svc", "up"), timeout=10)
        getattr(sup, how)("svc")
        threading.Event().wait(FAST.initial * 4)  # longer than any backoff would wait
        assert not sup.is_running("svc")
        assert sup.restarts("svc") == 0
        assert sup.state("svc") == "stopped"


def test_a_stop_cancels_a_pending_restart_and_a_start_replaces_it() -> None:
    slow = RestartPolicy(initial=5, cap=5)
    with Supervisor(stream=io.StringIO(), restart=slow) as sup:
        pid = sup.start(py("svc", FOREVER))
        sup.wait_ready("svc", sup.line_seen("svc", "up"), timeout=10)
        os.kill(pid, signal.SIGKILL)
        eventually(lambda: sup.is_restarting("svc"))
        assert sup.state("svc") == "restarting"
        sup.stop("svc")
        assert not sup.is_restarting("svc")
        os.kill(sup.start("svc"), signal.SIGKILL)
        eventually(lambda: sup.is_restarting("svc"))
        again = sup.start("svc")  # a manual start: one instance, no second one later
        assert not sup.is_restarting("svc")
        assert sup.pid("svc") == again and sup.running() == ["svc"]


def test_without_a_policy_a_crashed_process_stays_down() -> None:
    with Supervisor(stream=io.StringIO()) as sup:
        pid = sup.start(py("svc", FOREVER))
        sup.wait_ready("svc", sup.line_seen("svc", "up"), timeout=10)
        os.kill(pid, signal.SIGKILL)
        eventually(lambda: len(sup.unexpected_exits) == 1)
        assert not sup.is_restarting("svc") and sup.state("svc") == "stopped"
