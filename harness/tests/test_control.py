"""Live scaling of a running platform over its control socket, with stand-in processes."""

from __future__ import annotations

import argparse
import io
import json
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.control import ControlError, ControlServer, answers, handle, request
from harness.runner import Platform
from harness.services import ServiceError
from harness.tests.test_platform import make
from sagactl.commands import scale as scale_command


@pytest.fixture
def sock() -> Iterator[Path]:
    # Unix socket paths are limited to ~107 bytes: pytest's tmp_path can be longer.
    with tempfile.TemporaryDirectory(prefix="ctl") as folder:
        yield Path(folder) / "control.sock"


@pytest.fixture
def running(tmp_path: Path, sock: Path) -> Iterator[tuple[Platform, Path]]:
    with make(tmp_path, io.StringIO()) as platform, ControlServer(platform, sock):
        yield platform, sock


def workers(platform: Platform) -> list[str]:
    return [n for n in platform.running_names() if n.startswith("payment")]


def test_scale_up_and_down_over_the_socket(running: tuple[Platform, Path]) -> None:
    platform, sock = running
    assert workers(platform) == ["payment"]
    answer = request(sock, {"op": "scale", "service": "payment", "count": 3})
    assert answer["started"] == ["payment.2", "payment.3"] and answer["stopped"] == []
    assert workers(platform) == ["payment", "payment.2", "payment.3"]
    assert "instance payment.3" in platform.supervisor.tail("payment.3")[0]
    answer = request(sock, {"op": "scale", "service": "payment", "count": 1})
    assert answer["stopped"] == ["payment.3", "payment.2"]
    assert workers(platform) == ["payment"]
    request(sock, {"op": "scale", "service": "payment", "count": 0})
    assert workers(platform) == []
    request(sock, {"op": "scale", "service": "payment", "count": 2})
    assert workers(platform) == ["payment", "payment.2"]
    assert platform.supervisor.unexpected_exits == []


def test_stop_and_start_a_service_for_a_replay(running: tuple[Platform, Path]) -> None:
    platform, sock = running
    request(sock, {"op": "scale", "service": "payment", "count": 2})
    stopped = request(sock, {"op": "stop", "service": "payment"})["stopped"]
    assert stopped == ["payment", "payment.2"] and workers(platform) == []
    request(sock, {"op": "start", "names": stopped})
    assert workers(platform) == ["payment", "payment.2"]


def test_status_lists_processes_with_group_and_pid(running: tuple[Platform, Path]) -> None:
    platform, sock = running
    status = request(sock, {"op": "status"})
    rows = {p["name"]: p for p in status["processes"]}
    assert rows["payment"]["pid"] == platform.supervisor.pid("payment")
    assert rows["gateway"]["running"] and status["gateway"] == platform.gateway_url
    assert "payment  payment  -" in scale_command.render(status)  # stand-in table: no group


def test_errors_come_back_as_answers(running: tuple[Platform, Path]) -> None:
    platform, sock = running
    with pytest.raises(ControlError, match="gateway runs once and cannot scale"):
        request(sock, {"op": "scale", "service": "gateway", "count": 2})
    with pytest.raises(ControlError, match="unknown service 'nope'"):
        request(sock, {"op": "scale", "service": "nope", "count": 2})
    with pytest.raises(ControlError, match="lacks the field 'count'"):
        request(sock, {"op": "scale", "service": "payment"})
    with pytest.raises(ControlError, match="unknown op"):
        request(sock, {"op": "dance"})
    with socket.socket(socket.AF_UNIX) as raw:
        raw.connect(str(sock))
        raw.sendall(b"{not json\n")
        assert json.loads(raw.makefile().readline())["ok"] is False
    assert handle(platform, {"op": "status"})["ok"]


def test_a_second_server_on_a_live_socket_is_refused(running: tuple[Platform, Path]) -> None:
    platform, sock = running
    with pytest.raises(ControlError, match="another platform already listens"):
        ControlServer(platform, sock).start()


def test_a_stale_socket_is_replaced_and_a_missing_one_explained(tmp_path: Path, sock: Path) -> None:
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(sock))
    stale.close()  # the file stays; nobody listens
    assert not answers(sock)
    with make(tmp_path, io.StringIO()) as platform, ControlServer(platform, sock):
        assert answers(sock)
    assert not sock.exists()
    with pytest.raises(ControlError, match="no running platform answers"):
        request(sock, {"op": "status"})


def test_scale_command_parses_and_reports(
    running: tuple[Platform, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, sock = running
    assert scale_command.parse(["payment=0", "inventory=2"]) == [("payment", 0), ("inventory", 2)]
    for bad in ("payment", "payment=x", "gateway=2"):
        with pytest.raises(ServiceError):
            scale_command.parse([bad])
    code = scale_command.run(argparse.Namespace(scales=["payment=2"], control=sock))
    out = capsys.readouterr().out
    assert code == 0 and "started payment.2 (ready)" in out and "payment.2" in out
    code = scale_command.run(argparse.Namespace(scales=[], control=sock.with_name("x.sock")))
    assert code == 1 and "no running platform answers" in capsys.readouterr().err


def test_chaos_ops_kill_restart_pause_and_resume(tmp_path: Path, sock: Path) -> None:
    """The dashboard's chaos controls: a kill is a crash the restart policy undoes; a
    restart gives a new pid; pause/resume SIGSTOP/SIGCONT a service's processes."""
    from harness.healing import RestartPolicy
    from tests.support import eventually

    policy = RestartPolicy(initial=0.05, cap=0.05)
    with make(tmp_path, io.StringIO(), restart=policy) as platform, ControlServer(platform, sock):
        state = lambda: {p["name"]: p for p in request(sock, {"op": "status"})["processes"]}  # noqa: E731
        first = platform.supervisor.pid("payment")
        assert state()["payment"]["ready"] is True
        answer = request(sock, {"op": "kill", "name": "payment"})
        assert answer["killed"] == "payment" and answer["pid"] == first
        eventually(
            lambda: (
                (s := state()["payment"])["state"] == "running"
                and s["pid"] != first
                and s["restarts"] == 1
            ),
            timeout=10,
            what="the killed worker restarted by the policy (and counted)",
        )
        assert [e.name for e in platform.supervisor.unexpected_exits] == ["payment"]

        second = platform.supervisor.pid("payment")
        assert request(sock, {"op": "restart", "name": "payment"})["restarted"] == "payment"
        assert platform.supervisor.pid("payment") not in (first, second)

        assert request(sock, {"op": "pause", "service": "payment"})["paused"] == ["payment"]
        assert state()["payment"]["state"] == "paused"
        assert request(sock, {"op": "resume", "service": "payment"})["resumed"] == ["payment"]
        assert state()["payment"]["state"] == "running"
        assert request(sock, {"op": "resume", "service": "payment"})["resumed"] == []

        with pytest.raises(ControlError, match="no process 'nope'"):
            request(sock, {"op": "kill", "name": "nope"})
        with pytest.raises(ControlError, match="lacks the field 'name'"):
            request(sock, {"op": "restart"})


def test_a_paused_process_still_stops(tmp_path: Path, sock: Path) -> None:
    with make(tmp_path, io.StringIO()) as platform, ControlServer(platform, sock):
        request(sock, {"op": "pause", "service": "payment"})
        assert platform.supervisor.state("payment") == "paused"
        platform.supervisor.stop("payment", timeout=5)
        assert platform.supervisor.state("payment") == "stopped"
        assert platform.supervisor.unexpected_exits == []


def test_a_status_is_answered_while_a_scale_waits(sock: Path) -> None:
    """The dashboard polls the status every 1.5 s with a 1 s timeout while staff scale."""
    import threading

    release, entered = threading.Event(), threading.Event()

    class Slow:
        def status(self) -> dict[str, object]:
            return {"processes": []}

        def scale(self, service: str, count: int) -> tuple[list[str], list[str]]:
            entered.set()
            release.wait(10)
            return [f"{service}.2"], []

    with ControlServer(Slow(), sock):  # type: ignore[arg-type]
        answers_: list[dict[str, object]] = []
        scaling = threading.Thread(
            target=lambda: answers_.append(
                request(sock, {"op": "scale", "service": "payment", "count": 2})
            )
        )
        scaling.start()
        try:
            assert entered.wait(5)
            assert request(sock, {"op": "status"}, timeout=1.0)["processes"] == []
        finally:
            release.set()
            scaling.join(10)
        assert answers_[0]["started"] == ["payment.2"]
