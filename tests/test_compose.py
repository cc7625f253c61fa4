"""docker-compose.yml checked against the code, without a Docker engine (none on the build
machines): its services are the process table's, its commands exist, every variable it
sets is one the code reads, Kafka's listeners are reachable from containers and the host,
dependencies wait on real health checks, and scalable services can scale."""

from __future__ import annotations

import ast
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.jars import KAFKA_VERSION
from harness.services import SERVICES
from sagactl.cli import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SVC: dict[str, dict[str, Any]] = COMPOSE["services"]
#: Images the project builds (the rest are third-party: kafka, postgres, redis, UI).
APP = {name for name, s in SVC.items() if "build" in s}
#: Published ports allowed: one gateway, one broker, the optional UI.
PUBLISHED = {"gateway", "kafka", "kafka-ui"}


def env(name: str) -> dict[str, str]:
    return {k: str(v) for k, v in (SVC[name].get("environment") or {}).items()}


def command(name: str) -> list[str]:
    cmd = SVC[name]["command"]
    return shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]


def simple_commands(argv: list[str]) -> list[list[str]]:
    """``sh -c "a && b"`` -> [a, b]; anything else -> [argv]."""
    if argv[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in argv[2].split("&&")]
    return [argv]


def test_every_process_of_the_table_is_a_service_with_the_same_command() -> None:
    for service in SERVICES:
        assert service.name in SVC, (
            f"{service.name} is in harness.services but not in docker-compose.yml: add it"
            " (same command, the app environment; see docker/README.md)"
        )
        expected = [
            a.replace("{python}", "python")
            .replace("{port}", "8000")
            .replace("127.0.0.1", "0.0.0.0")
            for a in service.argv
        ]
        assert command(service.name) == expected, service.name
        if service.setup:  # one-shot setup = a one-shot compose job the service waits for
            jobs = [
                j for j in SVC[service.name].get("depends_on", {})
                if SVC[j].get("restart") == "no" and any(
                    cmd == [a.replace("{python}", "python") for a in service.setup]
                    for cmd in simple_commands(command(j))
                )
            ]  # fmt: skip
            assert jobs, f"no one-shot job runs the setup of {service.name}: {service.setup}"


def test_every_command_names_code_that_exists() -> None:
    management = {p.stem for p in ROOT.glob("*/**/management/commands/*.py")}
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for name in APP:
        for argv in simple_commands(command(name)):
            if argv[:2] == ["python", "-m"]:
                module = argv[2]
                assert (
                    (ROOT / module / "__main__.py").exists()
                    or (ROOT / f"{module}.py").exists()
                    or module == "daphne"
                ), (name, module)
                if module == "daphne":
                    target = argv[-1].split(":")[0]
                    assert (ROOT / (target.replace(".", "/") + ".py")).exists(), target
            elif argv[:2] == ["python", "manage.py"]:
                assert argv[2] in management, f"{name}: no management command {argv[2]!r}"
            elif argv[0] == "sagactl":
                assert "sagactl" in scripts and argv[1] in COMMANDS, argv
            else:
                pytest.fail(f"{name}: unexpected command {argv}")


def _read_names() -> set[str]:
    """Every upper-case string constant in the project's own code (not its tests): the
    names it can read from the environment."""
    names: set[str] = set()
    for path in ROOT.glob("*/**/*.py"):
        rel = path.relative_to(ROOT).parts
        if rel[0] in {".venv", "tests"} or "tests" in rel or "migrations" in rel:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and re.fullmatch(r"[A-Z][A-Z0-9_]+", node.value)
            ):
                names.add(node.value)
    return names


def test_every_variable_compose_sets_is_read_by_the_code() -> None:
    read = _read_names()
    for name in APP:
        for variable in env(name):
            assert variable in read, f"{name} sets {variable}, which no code reads"
    # and the names the shared settings document are the ones compose points at the stack
    for variable in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "REDIS_URL"):
        assert all(variable in env(name) for name in APP), variable


def test_the_app_points_at_the_compose_services() -> None:
    for name in APP:
        e = env(name)
        assert e["DATABASE_URL"].split("@")[1].startswith("postgres:5432/")
        assert e["REDIS_URL"].startswith("redis://redis:6379/")
        user = env("postgres")
        assert e["DATABASE_URL"] == (
            f"postgresql://{user['POSTGRES_USER']}:{user['POSTGRES_PASSWORD']}"
            f"@postgres:5432/{user['POSTGRES_DB']}"
        )


def _listeners(text: str) -> dict[str, tuple[str, int]]:
    out = {}
    for part in text.split(","):
        name, _, address = part.partition("://")
        host, _, port = address.rpartition(":")
        out[name] = (host, int(port))
    return out


def test_kafka_listeners_reach_containers_and_the_host() -> None:
    k = env("kafka")
    assert SVC["kafka"]["image"] == f"apache/kafka:{KAFKA_VERSION}"  # as the local jars
    listeners = _listeners(k["KAFKA_LISTENERS"])
    advertised = _listeners(k["KAFKA_ADVERTISED_LISTENERS"])
    protocols = dict(p.split(":") for p in k["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    controller = k["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert set(listeners) == set(protocols)
    assert controller in listeners and controller not in advertised
    assert set(advertised) == set(listeners) - {controller}
    for name, (_, port) in advertised.items():
        assert listeners[name][1] == port, f"{name} advertises another port than it listens on"
    # Containers: the inter-broker listener at the service's hostname, which the apps use.
    inter = k["KAFKA_INTER_BROKER_LISTENER_NAME"]
    host = SVC["kafka"].get("hostname", "kafka")
    assert host == "kafka" and advertised[inter][0] == host
    for name in APP:
        assert env(name)["KAFKA_BOOTSTRAP_SERVERS"] == f"{host}:{advertised[inter][1]}"
    assert env("kafka-ui")["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"] == f"{host}:{advertised[inter][1]}"
    # The host: the other advertised listener is localhost at a published port.
    [(_outside, (out_host, out_port))] = [(n, a) for n, a in advertised.items() if n != inter]
    assert out_host == "localhost"
    # ... published on loopback only, and only with the opt-in override (no authentication)
    assert "ports" not in SVC["kafka"], "Kafka's host listener is opt-in (docker/kafka-host.yml)"
    host_override = yaml.safe_load((ROOT / "docker" / "kafka-host.yml").read_text())
    assert host_override["services"]["kafka"]["ports"] == [f"127.0.0.1:{out_port}:{out_port}"]
    # KRaft: one combined node whose voter is itself on the controller listener.
    assert k["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert k["KAFKA_CONTROLLER_QUORUM_VOTERS"] == (
        f"{k['KAFKA_NODE_ID']}@{host}:{listeners[controller][1]}"
    )
    assert k["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"  # the topics job creates them
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", k["CLUSTER_ID"])
    assert "kafka-data:/var/lib/kafka/data" in SVC["kafka"]["volumes"]
    assert k["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data"


def test_dependencies_wait_on_health_checks_and_finished_jobs() -> None:
    for name, service in SVC.items():
        for target, rule in (service.get("depends_on") or {}).items():
            assert target in SVC, f"{name} depends on unknown {target}"
            condition = rule["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in SVC[target], f"{name} waits for {target}'s health check"
            elif condition == "service_completed_successfully":
                assert SVC[target].get("restart") == "no", f"{target} is not a one-shot job"
            else:
                pytest.fail(f"{name} -> {target}: condition {condition!r}")
    for name in (
        "kafka",
        "postgres",
        "redis",
        "gateway",
        *(s.name for s in SERVICES if s.scalable),
    ):
        assert "healthcheck" in SVC[name], name
    assert SVC["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_scalable_services_can_scale() -> None:
    for name, service in SVC.items():
        assert "container_name" not in service, name
        if name not in PUBLISHED:
            assert "ports" not in service, f"{name} publishes a host port: it could not scale"
    scalable = {s.name for s in SERVICES if s.scalable}
    assert scalable <= set(SVC) and not scalable & PUBLISHED
    for name in scalable:  # the worker's metrics port stays inside its container
        assert env(name)["METRICS_HOST"] == "0.0.0.0" and "ports" not in SVC[name]


def test_volumes_profiles_and_the_image() -> None:
    declared = set(COMPOSE["volumes"])
    for name, service in SVC.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in declared, f"{name} uses undeclared volume {source}"
    assert SVC["kafka-ui"]["profiles"] == ["ui"]
    assert all(p.startswith("127.0.0.1:") for p in SVC["kafka-ui"]["ports"])  # no login
    redis_cmd = command("redis")
    assert redis_cmd[redis_cmd.index("--appendonly") + 1] == "yes"
    assert redis_cmd[redis_cmd.index("--maxmemory-policy") + 1] == "noeviction"
    assert SVC["kafka-2"]["profiles"] == SVC["kafka-3"]["profiles"] == ["cluster"]
    optional = {"kafka-ui", "kafka-2", "kafka-3"}
    assert all("profiles" not in s for n, s in SVC.items() if n not in optional)
    dockerfile = ROOT / SVC["gateway"]["build"]["dockerfile"]
    text = dockerfile.read_text()
    python = re.search(r"^FROM python:(\d+)\.(\d+)", text, re.M)
    assert python and (int(python[1]), int(python[2])) >= (3, 11)
    assert "requirements.lock" in text  # exact pins in the image too
    assert len({SVC[n]["image"] for n in APP}) == 1  # one image for every Python service
