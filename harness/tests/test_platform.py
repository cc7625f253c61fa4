"""`Platform` end to end with stand-in commands, and the `sagactl run` banner."""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.healing import RestartPolicy
from harness.runner import Platform, PlatformError, PlatformOptions, fill, http_ok
from harness.services import SERVICES, HttpOk, LogLine, Service, ServiceError
from sagactl.commands import run as run_command
from sagactl.commands.run import banner, new_log_dir, redact, verbose_from_env
from tests.support.waiting import eventually

#: Answers 200 on /health, 404 elsewhere; port from argv.
FAKE_GATEWAY = """
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
    def log_message(self, *args):
        print("GET", self.path, flush=True)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""
FAKE_WORKER = (
    "import os, signal; print('instance', os.environ['SAGACTL_INSTANCE'],"
    " os.environ['KAFKA_BOOTSTRAP_SERVERS'], flush=True);"
    " print('[^Worker]: Ready', flush=True); signal.pause()"
)
ENV = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}


def table(worker_code: str = FAKE_WORKER) -> tuple[Service, ...]:
    return (
        Service(
            "gateway", ("{python}", "-c", FAKE_GATEWAY, "{port}"), HttpOk("/health"), uses_db=True
        ),
        Service("relay", ("{python}", "-c", "import signal; signal.pause()"), uses_db=True),
        Service("payment", ("{python}", "-c", worker_code), LogLine(r"\[\^Worker\]: Ready"), True),
    )


class Topics:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, bootstrap: str) -> list[str]:
        self.calls.append(bootstrap)
        return ["orders.v1"]


@pytest.fixture
def out() -> io.StringIO:
    return io.StringIO()


def options(tmp_path: Path, out: io.StringIO, **kwargs: object) -> PlatformOptions:
    return PlatformOptions(stream=out, ready_timeout=20, **kwargs)  # type: ignore[arg-type]


def make(tmp_path: Path, out: io.StringIO, *, migrate: str = "print('migrated')", **kw: object):
    return Platform(
        ENV,
        options(tmp_path, out, **kw),
        table=table(),
        migrate=("{python}", "-c", migrate),
        ensure_topics=Topics(),
        cwd=tmp_path,
    )


def test_platform_runs_migrate_then_every_instance_until_ready(
    tmp_path: Path, out: io.StringIO
) -> None:
    platform = make(tmp_path, out, scale={"payment": 2})
    with platform:
        assert platform.names == ["gateway", "relay", "payment.1", "payment.2"]
        assert platform.supervisor.running() == platform.names
        assert http_ok(platform.gateway_url + "/health")
        assert platform.topics == ["orders.v1"]
        assert "instance payment.2 127.0.0.1:1" in platform.supervisor.tail("payment.2")
    log = out.getvalue()
    assert log.index("migrated") < log.index("started gateway")
    assert platform.supervisor.running() == []
    assert platform.supervisor.unexpected_exits == []


def test_restart_and_crash_one_instance(tmp_path: Path, out: io.StringIO) -> None:
    with make(tmp_path, out, scale={"payment": 2}) as platform:
        first = platform.supervisor.pid("payment.1")
        platform.restart("payment.1", crash=True)
        assert platform.supervisor.pid("payment.1") != first
        platform.restart("gateway")
        assert http_ok(platform.gateway_url + "/health")
        assert platform.supervisor.unexpected_exits == []
        with pytest.raises(PlatformError, match="no process 'payment'"):
            platform.restart("payment")


def test_log_dir_gets_a_file_per_instance(tmp_path: Path, out: io.StringIO) -> None:
    with make(tmp_path, out, scale={"payment": 2}, log_dir=tmp_path / "logs") as platform:
        assert platform.supervisor.log_path("payment.1") == tmp_path / "logs" / "payment.1.log"
    assert "[^Worker]: Ready" in (tmp_path / "logs" / "payment.1.log").read_text()
    assert "migrated" in (tmp_path / "logs" / "migrate.log").read_text()


def test_a_failed_migration_starts_nothing(tmp_path: Path, out: io.StringIO) -> None:
    platform = make(tmp_path, out, migrate="import sys; print('no such table'); sys.exit(1)")
    with pytest.raises(PlatformError, match=r"migrate failed with exit code 1:\n.*no such table"):
        platform.start()
    assert platform.supervisor.running() == []


def test_a_process_that_dies_before_ready_stops_the_rest(tmp_path: Path, out: io.StringIO) -> None:
    platform = Platform(
        ENV,
        options(tmp_path, out),
        table=table("import sys; print('cannot reach kafka'); sys.exit(1)"),
        migrate=None,
        ensure_topics=Topics(),
        cwd=tmp_path,
    )
    with pytest.raises(PlatformError) as info:
        platform.start()
    assert "payment exited with code 1 before it was ready" in str(info.value)
    assert "cannot reach kafka" in str(info.value)
    assert platform.supervisor.running() == []


def test_a_busy_port_is_refused_with_advice(tmp_path: Path, out: io.StringIO) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        platform = make(tmp_path, out, port=busy.getsockname()[1])
        with pytest.raises(PlatformError, match=r"already in use.*--port 0"):
            platform.start()


def test_only_and_unknown_services(tmp_path: Path, out: io.StringIO) -> None:
    platform = make(tmp_path, out, services=["payment"])
    assert platform.names == ["payment"]
    with pytest.raises(PlatformError, match="gateway is not running"):
        _ = platform.gateway_url
    with pytest.raises(ServiceError, match="unknown service 'shipping'"):
        make(tmp_path, out, services=["shipping"])


def test_the_real_table_expands_its_templates(tmp_path: Path, out: io.StringIO) -> None:
    platform = Platform(ENV, options(tmp_path, out, scale={"payment": 3}, port=8123))
    assert platform.names == [
        "gateway",
        "relay",
        "projector",
        "payment.1",
        "payment.2",
        "payment.3",
        "inventory",
        "saga",
        "notification",
        "analytics",
        "auditor",
        "dashboard",
    ]
    platform.port = 8123
    gateway = platform._spec("gateway", platform.instances[0], SERVICES[0].argv)
    assert list(gateway.argv) == [
        sys.executable, "-m", "gateway", "-b", "127.0.0.1", "-p", "8123", "gateway.asgi:application"
    ]  # fmt: skip
    worker = platform._spec("payment.2", platform.instances[4], platform.instances[4].service.argv)
    assert list(worker.argv) == [sys.executable, "-m", "payment", "worker", "-l", "info"]
    assert worker.env["SAGACTL_INSTANCE"] == "payment.2"
    assert worker.env["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:1"


def test_fill_leaves_other_braces_alone() -> None:
    assert fill("{python} -c 'd = {1: 2}' {port}", {"python": "py", "port": "80"}) == (
        "py -c 'd = {1: 2}' 80"
    )


@pytest.fixture
def running(tmp_path: Path, out: io.StringIO) -> Iterator[Platform]:
    with make(tmp_path, out, port=0) as platform:
        yield platform


def test_banner_shows_urls_infrastructure_and_a_working_curl(running: Platform) -> None:
    env = {**ENV, "DATABASE_URL": "postgresql://saga:s3cret@127.0.0.1:5433/saga"}
    text = banner(running, env)
    url = running.gateway_url
    for path in ("/", "/api/orders", "/api/docs", "/health", "/ready"):
        assert f"{url}{path}\n" in text + "\n"
    assert "127.0.0.1:1" in text
    assert "postgresql://saga:***@127.0.0.1:5433/saga" in text
    assert "s3cret" not in text
    assert f"curl -i -X POST {url}/api/orders" in text
    body = text.split("-d '", 1)[1].split("'", 1)[0]
    assert json.loads(body)["orderId"] == "550e8400-e29b-41d4-a716-446655440000"


def test_a_quiet_platform_says_ready_once_per_process(tmp_path: Path, out: io.StringIO) -> None:
    quiet = make(
        tmp_path, out, scale={"payment": 2}, log_dir=tmp_path / "logs", echo=True, verbose=False
    )
    with quiet as platform:
        pids = {name: platform.supervisor.pid(name) for name in platform.names}
        platform.wait_ready("payment.2")  # already announced
        assert "[^Worker]: Ready" in (tmp_path / "logs" / "payment.1.log").read_text()
    assert out.getvalue().splitlines() == [
        "sagactl   | migrate finished with code 0",
        *(f"{name:<9} | ready (pid {pid})" for name, pid in pids.items()),
    ]


def test_the_banner_says_where_the_full_logs_are(tmp_path: Path, out: io.StringIO) -> None:
    with make(tmp_path, out, port=0, log_dir=tmp_path / "logs", verbose=False) as platform:
        text = banner(platform, ENV)
    assert f"Full logs: {tmp_path / 'logs'}/<process>.log" in text
    assert "sagactl run -v" in text


@pytest.mark.parametrize(
    ("level", "verbose"),
    [("", False), ("warning", False), ("ERROR", False), ("info", True), ("DEBUG", True)],
)
def test_log_level_info_or_debug_makes_the_terminal_verbose(level: str, verbose: bool) -> None:
    assert verbose_from_env({"LOG_LEVEL": level}) is verbose
    assert verbose_from_env({}) is False


def test_each_run_gets_a_new_log_dir_and_old_ones_go(tmp_path: Path) -> None:
    for stamp in range(5):
        (tmp_path / f"run-2020010{stamp}-000000").mkdir()
    first = new_log_dir(tmp_path, keep=3)
    second = new_log_dir(tmp_path, keep=3)
    assert first != second and first.is_dir() and second.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "run-20200104-000000",
        first.name,
        second.name,
    ]


def test_redact() -> None:
    assert redact("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert redact("postgresql://u:p@h:1/d") == "postgresql://u:***@h:1/d"


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    run_command.register(parser.add_subparsers())
    args = parser.parse_args(["run", *argv])
    return int(args.func(args))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scale", "gateway=2"], "gateway runs once and cannot scale"),
        (["--only", "gateway", "--scale", "payment=2"], "payment is scaled but not selected"),
        (["--only", "shipping"], "unknown service 'shipping'"),
    ],
)
def test_run_rejects_bad_options_before_starting_anything(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SCALE", raising=False)
    assert run_cli(*argv) == 2
    assert message in capsys.readouterr().err


def test_run_takes_the_scale_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SCALE", "paymnt=2")
    assert run_cli() == 2
    assert "unknown service 'paymnt'" in capsys.readouterr().err


def test_run_refuses_a_busy_port_before_starting_the_stack(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert run_cli("--port", str(busy.getsockname()[1])) == 2
    assert "already in use" in capsys.readouterr().err


def test_a_crashed_instance_is_restarted_and_its_restarts_show_in_the_status(
    tmp_path: Path, out: io.StringIO
) -> None:
    policy = RestartPolicy(initial=0.05, cap=0.2)
    with make(tmp_path, out, scale={"payment": 2}, restart=policy) as platform:
        crashed = platform.supervisor.pid("payment.2")
        os.kill(crashed, signal.SIGKILL)
        eventually(
            lambda: (
                platform.supervisor.is_running("payment.2")
                and platform.supervisor.pid("payment.2") != crashed
            ),
            timeout=10,
            what="payment.2 restarted",
        )
        platform.wait_ready("payment.2")
        rows = {p["name"]: p for p in platform.status()["processes"]}  # type: ignore[attr-defined]
        assert (rows["payment.2"]["state"], rows["payment.2"]["restarts"]) == ("running", 1)
        assert (rows["payment.1"]["state"], rows["payment.1"]["restarts"]) == ("running", 0)


def test_scale_replaces_a_dead_member(tmp_path: Path, out: io.StringIO) -> None:
    with make(tmp_path, out, scale={"payment": 2}) as platform:  # no restart policy
        platform.supervisor.kill("payment.1")
        assert platform.running_names() == ["gateway", "relay", "payment.2"]
        started, stopped = platform.scale("payment", 2)
        assert (started, stopped) == (["payment.1"], [])
        assert sorted(platform.running_names()) == ["gateway", "payment.1", "payment.2", "relay"]
        platform.supervisor.kill("payment.2")
        started, stopped = platform.scale("payment", 1)  # the live one is enough
        assert (started, stopped) == ([], [])
        assert platform.names == ["gateway", "relay", "payment.1"]
