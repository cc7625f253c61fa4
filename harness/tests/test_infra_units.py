"""Unit tests of the harness's pure parts: ports, configs, jar cache, tool lookup, planning."""

from __future__ import annotations

import base64
import os
import socket
import stat
import string
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness import jars, packages
from harness.kafka import new_cluster_id, render_log4j, render_server_properties
from harness.plan import Source, plan
from harness.ports import free_port, free_ports, is_listening
from harness.stack import Stack
from harness.waiting import wait_until


def _properties(text: str) -> dict[str, str]:
    return dict(
        line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")
    )


# -- ports -------------------------------------------------------------------------------


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(5)
    assert len(set(ports)) == 5
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_is_listening_tells_open_from_closed() -> None:
    assert not is_listening(free_port())
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert is_listening(server.getsockname()[1])


def test_wait_until_returns_once_true_and_names_what_timed_out() -> None:
    calls = iter([False, False, True])
    wait_until(lambda: next(calls), timeout=5, what="x", interval=0.001)
    with pytest.raises(TimeoutError, match="the impossible"):
        wait_until(lambda: False, timeout=0.05, what="the impossible", interval=0.01)


# -- Kafka config ------------------------------------------------------------------------


def test_cluster_id_is_16_bytes_of_urlsafe_base64_without_padding() -> None:
    alphabet = set(string.ascii_letters + string.digits + "-_")
    for _ in range(500):
        cluster_id = new_cluster_id()
        assert len(cluster_id) == 22
        assert set(cluster_id) <= alphabet
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_server_properties_describe_a_single_node_kraft_broker(tmp_path: Path) -> None:
    props = _properties(render_server_properties(port=9092, controller_port=9093, log_dir=tmp_path))
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == f"{props['node.id']}@127.0.0.1:9093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092"
    assert props["log.dirs"] == str(tmp_path)
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
    ):
        assert props[key] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["auto.create.topics.enable"] == "false"
    assert int(props["log.cleaner.dedupe.buffer.size"]) <= 4 * 1024 * 1024
    assert props["num.network.threads"] == props["num.io.threads"] == "2"


def test_log4j_is_quiet_but_keeps_the_started_line() -> None:
    props = _properties(render_log4j())
    assert props["log4j.rootLogger"].startswith("WARN")
    assert props["log4j.logger.kafka.server.KafkaRaftServer"] == "INFO"


# -- jar cache ---------------------------------------------------------------------------


def test_pom_lists_the_broker_and_its_logging_backend() -> None:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    root = ET.fromstring(jars.render_pom("3.9.1"))
    deps = {
        (d.findtext("m:artifactId", namespaces=ns), d.findtext("m:version", namespaces=ns))
        for d in root.iterfind("m:dependencies/m:dependency", ns)
    }
    assert deps == {("kafka_2.13", "3.9.1"), ("slf4j-reload4j", "1.7.36"), ("reload4j", "1.2.25")}


@pytest.fixture
def fake_mvn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An ``mvn`` that copies a fake broker jar, or fails when ``FAKE_MVN_FAIL`` is set."""
    script = tmp_path / "mvn"
    script.write_text(
        "#!/bin/sh\n"
        'for arg in "$@"; do case "$arg" in -DoutputDirectory=*) out="${arg#*=}";; esac; done\n'
        'echo called >> "$FAKE_MVN_CALLS"\n'
        '[ -n "$FAKE_MVN_FAIL" ] && { echo "network is down" >&2; exit 1; }\n'
        'touch "$out/kafka_2.13-9.9.9.jar" "$out/kafka-clients-9.9.9.jar"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(jars, "ensure", lambda *tools: {"java": "java", "mvn": str(script)})
    monkeypatch.setenv("FAKE_MVN_CALLS", str(tmp_path / "calls"))
    return tmp_path / "calls"


def test_jars_are_downloaded_once_and_marked_complete(tmp_path: Path, fake_mvn: Path) -> None:
    messages = tmp_path / "out.txt"
    with open(messages, "w") as out:
        libs = jars.ensure_kafka_jars("9.9.9", cache_dir=tmp_path / "cache", out=out)
        assert jars.ensure_kafka_jars("9.9.9", cache_dir=tmp_path / "cache", out=out) == libs
    assert sorted(p.name for p in libs.iterdir()) == [
        "kafka-clients-9.9.9.jar",
        "kafka_2.13-9.9.9.jar",
    ]
    assert (libs.parent / jars.MARKER).is_file()
    assert fake_mvn.read_text().count("called") == 1
    assert "downloading Kafka 9.9.9 jars from Maven Central" in messages.read_text()


def test_an_interrupted_download_is_redone(
    tmp_path: Path, fake_mvn: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "cache" / "kafka-9.9.9"
    (home / "libs").mkdir(parents=True)
    (home / "libs" / "truncated.jar").write_text("half")  # no marker: a previous run died
    monkeypatch.setenv("FAKE_MVN_FAIL", "1")
    with open(os.devnull, "w") as out:
        with pytest.raises(RuntimeError, match="network is down"):
            jars.ensure_kafka_jars("9.9.9", cache_dir=tmp_path / "cache", out=out)
        assert not (home / jars.MARKER).exists()
        assert not list(home.glob("libs*"))  # nothing half-done is left to be trusted
        monkeypatch.delenv("FAKE_MVN_FAIL")
        libs = jars.ensure_kafka_jars("9.9.9", cache_dir=tmp_path / "cache", out=out)
    assert not (libs / "truncated.jar").exists()
    assert (libs / "kafka_2.13-9.9.9.jar").exists()


def test_cache_root_honours_saga_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SAGA_CACHE_DIR", str(tmp_path))
    assert jars.cache_root() == tmp_path
    monkeypatch.delenv("SAGA_CACHE_DIR")
    assert jars.cache_root() == Path.home() / ".cache" / "saga-platform"


# -- system tools ------------------------------------------------------------------------


def test_find_looks_in_versioned_postgres_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for version in ("9.6", "15", "13"):
        folder = tmp_path / version / "bin"
        folder.mkdir(parents=True)
        tool = folder / "initdb"
        tool.write_text("#!/bin/sh\n")
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(packages, "EXTRA_DIRS", (str(tmp_path / "*" / "bin"),))
    assert packages.find("initdb") == str(tmp_path / "15" / "bin" / "initdb")
    assert packages.find("no-such-tool") is None


def test_ensure_without_root_names_the_exact_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(packages, "EXTRA_DIRS", ())
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(packages.MissingTools) as excinfo:
        packages.ensure("java", "initdb", "pg_ctl", "redis-server")
    assert (
        "sudo apt-get install -y --no-install-recommends "
        "openjdk-17-jre-headless postgresql redis-server"
    ) in str(excinfo.value)


def test_ensure_returns_paths_of_present_tools() -> None:
    assert packages.ensure("sh") == {"sh": packages.find("sh")}


# -- where components come from ------------------------------------------------------------


class DockerProbe:
    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.answer


ALL = {"kafka": True, "postgres": True, "redis": True}


def test_environment_variables_override_and_docker_is_not_asked() -> None:
    environ = {
        "KAFKA_BOOTSTRAP_SERVERS": "broker:9092",
        "DATABASE_URL": "postgresql://db/saga",
        "REDIS_URL": "redis://cache/0",
    }
    probe = DockerProbe(True)
    assert set(plan(ALL, environ, probe).values()) == {Source.EXTERNAL}
    assert probe.calls == 0


def test_docker_is_asked_once_and_used_when_it_answers() -> None:
    probe = DockerProbe(True)
    chosen = plan(ALL, {"REDIS_URL": "redis://cache/0"}, probe)
    assert chosen == {"kafka": Source.DOCKER, "postgres": Source.DOCKER, "redis": Source.EXTERNAL}
    assert probe.calls == 1


def test_local_processes_without_docker_and_unwanted_parts_stay_off() -> None:
    wanted = {"kafka": True, "postgres": False, "redis": True}
    chosen = plan(wanted, {"DATABASE_URL": "  ", "KAFKA_BOOTSTRAP_SERVERS": ""}, DockerProbe(False))
    assert chosen == {"kafka": Source.LOCAL, "postgres": Source.OFF, "redis": Source.LOCAL}


def test_stack_with_every_override_starts_nothing() -> None:
    environ = {
        "KAFKA_BOOTSTRAP_SERVERS": "broker:9092",
        "DATABASE_URL": "postgresql://db/saga",
        "REDIS_URL": "redis://cache/0",
    }
    with Stack(environ=environ, docker=True) as stack:
        assert stack.env() == environ
        assert stack.kafka is stack.postgres is stack.redis is None
        assert stack.timings == {}


def test_stack_env_leaves_out_unwanted_components() -> None:
    with Stack(kafka=False, redis=False, environ={"DATABASE_URL": "postgresql://db/saga"}) as stack:
        assert stack.env() == {"DATABASE_URL": "postgresql://db/saga"}


def test_ensure_as_root_updates_apt_once_and_installs_the_missing_packages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed: set[str] = {"mvn"}
    commands: list[list[str]] = []

    def fake_run(command: list[str], env: dict[str, str]) -> None:
        commands.append(command)
        if command[1] == "install":
            installed.update(t for t, pkg in packages.DEBIAN_PACKAGES.items() if pkg in command)

    monkeypatch.setattr(packages, "can_install", lambda: True)
    monkeypatch.setattr(
        packages, "find", lambda tool: f"/bin/{tool}" if tool in installed else None
    )
    monkeypatch.setattr(packages, "_run", fake_run)
    monkeypatch.setattr(packages, "_apt_updated", False)
    assert packages.ensure("java", "mvn") == {"java": "/bin/java", "mvn": "/bin/mvn"}
    packages.ensure("redis-server")
    assert commands == [
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", "openjdk-17-jre-headless"],
        ["apt-get", "install", "-y", "--no-install-recommends", "redis-server"],
    ]


class FakeServer:
    """Stands in for a local server in the Stack: records what happened to it."""

    fail = False
    instances: list[FakeServer] = []

    def __init__(self, *, base_dir: Path | None = None, **_: object) -> None:
        self.base_dir = base_dir
        self.closed = False
        self.running = False
        FakeServer.instances.append(self)

    url = "fake://"
    bootstrap = "fake:1"

    def start(self) -> None:
        if self.fail:
            raise RuntimeError("no luck")
        self.running = True

    def close(self) -> None:
        self.closed, self.running = True, False


class FailingServer(FakeServer):
    fail = True


def test_stack_stops_what_started_when_another_part_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import stack as stack_module

    FakeServer.instances = []
    monkeypatch.setattr(stack_module, "KafkaBroker", FakeServer)
    monkeypatch.setattr(stack_module, "PostgresServer", FakeServer)
    monkeypatch.setattr(stack_module, "RedisServer", FailingServer)
    stack = Stack(docker=False, environ={})
    with pytest.raises(RuntimeError, match="starting redis failed: no luck"):
        stack.start()
    assert len(FakeServer.instances) == 3
    assert all(server.closed for server in FakeServer.instances)
    workdirs = {server.base_dir for server in FakeServer.instances}
    assert len(workdirs) == 1 and not next(iter(workdirs)).exists()  # type: ignore[union-attr]
