"""`Platform`: topics, migrations and every service process, ready or stopped as one unit."""

from __future__ import annotations

import os
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from harness.healing import RestartPolicy
from harness.plan import ENV_VARS
from harness.ports import free_port, port_is_free
from harness.services import (
    MIGRATE,
    SERVICES,
    HttpOk,
    Instance,
    LogLine,
    Service,
    by_name,
    cohosted,
    instance_name,
    instances,
)
from harness.supervisor import Exit, NotReady, ProcessSpec, Supervisor, SupervisorError

ROOT = Path(__file__).resolve().parent.parent

EnsureTopics = Callable[[str], Sequence[str]]

#: Where the infrastructure is: what `sagactl` tools need from a running platform.
INFRA_VARS = (*ENV_VARS.values(), "TOPIC_REPLICATION_FACTOR")


class PlatformError(Exception):
    """The platform could not be brought up; nothing it started is left running."""


@dataclass(frozen=True)
class PlatformOptions:
    """What to run and where its output goes."""

    #: Service names to run, in any order; None runs the whole table.
    services: Sequence[str] | None = None
    #: Instances per scalable service, e.g. ``{"payment": 3}``.
    scale: Mapping[str, int] = field(default_factory=dict)
    #: The gateway's HTTP port on 127.0.0.1; 0 picks a free one.
    port: int = 0
    #: Per-process log files here instead of prefixed lines on ``stream`` (both with
    #: ``echo=True``).
    log_dir: Path | None = None
    #: Process output on ``stream`` too; None: only without a ``log_dir``.
    echo: bool | None = None
    #: Everything on ``stream``; False keeps it quiet: one ready line per process,
    #: warnings, errors and restarts (`harness.terminal`).
    verbose: bool = True
    ready_timeout: float = 120.0
    migrate_timeout: float = 120.0
    stop_timeout: float = 15.0
    create_topics: bool = True
    stream: TextIO | None = None
    color: bool | None = None
    #: Restart a process that exits unexpectedly, with this backoff (`sagactl run` and
    #: the integration tests' platforms do); None leaves it down.
    restart: RestartPolicy | None = None
    #: One co-hosted worker process (``workers``) instead of one per worker service
    #: (``harness.services.cohosted``).
    cohost: bool = False


#: Settings a local platform runs with unless the environment says otherwise. It is a
#: load-testing target: `sagactl load` and `make bench` post from one loopback address
#: far above the anonymous API's production rate (``gateway.throttles``).
LOCAL_DEFAULTS = {"GATEWAY_THROTTLE_ANON": "off"}


class Platform:
    """Creates the topics, migrates, starts every selected process and waits until each is
    ready; stops them all (newest first) on exit. Used by `sagactl run` and the tests.

    ``env`` is the infrastructure's environment (``Stack.env()``): it is added to this
    process's own environment for every child. ``table``, ``migrate`` and ``ensure_topics``
    exist so tests can run stand-in commands.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        options: PlatformOptions | None = None,
        *,
        table: Sequence[Service] = SERVICES,
        migrate: Sequence[str] | None = MIGRATE,
        ensure_topics: EnsureTopics | None = None,
        cwd: Path = ROOT,
        on_unexpected_exit: Callable[[Exit], None] | None = None,
    ) -> None:
        self.options = options or PlatformOptions()
        self.env = dict(env)
        for name, value in LOCAL_DEFAULTS.items():
            if name not in os.environ:
                self.env.setdefault(name, value)
        if self.options.cohost:
            table = cohosted(table)
        self._table = table
        self._migrate = migrate
        self._ensure_topics = ensure_topics
        self._cwd = cwd
        wanted = self.options.services
        if wanted is not None:
            for name in wanted:
                by_name(name, table)  # unknown names fail here, not silently
        selected = [s.name for s in table if wanted is None or s.name in wanted]
        self.instances: list[Instance] = instances(selected, self.options.scale, table)
        self.port = 0
        self.topics: list[str] = []
        #: Readiness check per name, made when `_launch` started that pid.
        self._ready_checks: dict[str, tuple[int, Callable[[], bool] | None]] = {}
        #: Serialises live changes (`scale`, `stop_service`, `start_service`).
        self._changing = threading.RLock()
        self.supervisor = Supervisor(
            stream=self.options.stream,
            log_dir=self.options.log_dir,
            color=self.options.color,
            on_unexpected_exit=on_unexpected_exit,
            restart=self.options.restart,
            echo=self.options.echo,
            verbose=self.options.verbose,
            on_started=self._watch_readiness,
        )

    @property
    def names(self) -> list[str]:
        """Process names in start order (``gateway``, ..., ``payment.1``, ``payment.2``)."""
        return [i.name for i in self.instances]

    @property
    def gateway_url(self) -> str:
        if not any(i.service.name == "gateway" for i in self.instances) or not self.port:
            raise PlatformError("the gateway is not running in this platform")
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Platform:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Bring everything up; on any failure stop what started and raise `PlatformError`."""
        try:
            self._start()
        except BaseException as exc:
            self.stop()
            if isinstance(exc, SupervisorError):
                raise PlatformError(str(exc)) from exc
            raise

    def stop(self) -> None:
        self.supervisor.stop_all(self.options.stop_timeout)

    def wait_ready(self, name: str, timeout: float | None = None) -> None:
        """Wait until the process ``name`` passes its table readiness check."""
        instance = self._instance(name)
        limit = self.options.ready_timeout if timeout is None else timeout
        pid, check = self._ready_checks.get(name, (None, None))
        if pid is None or pid != self.supervisor.pid(name):  # started elsewhere: watch now
            check = self._check(instance)
        self.supervisor.wait_ready(name, check, limit)
        self.supervisor.announce_ready(name)

    def restart(self, name: str, *, crash: bool = False) -> None:
        """Stop one process (SIGKILL with ``crash=True``), start it again, wait until ready."""
        with self._changing:
            self._instance(name)
            if crash:
                self.supervisor.kill(name)
            else:
                self.supervisor.stop(name)
            self._launch(name)
            self.wait_ready(name)

    def instances_of(self, service: str) -> list[Instance]:
        """The processes of ``service`` this platform runs (running or stopped)."""
        return [i for i in self.instances if i.service.name == service]

    def running_names(self) -> list[str]:
        """Process names whose process is running now, in start order."""
        return [i.name for i in self.instances if self.supervisor.is_running(i.name)]

    def status(self) -> dict[str, object]:
        """What runs, for the control channel: every process with its service, group, pid."""
        processes = []
        for i in self.instances:
            running = self.supervisor.is_running(i.name)
            processes.append(
                {
                    "name": i.name,
                    "service": i.service.name,
                    "group": i.service.group,
                    "running": running,
                    "pid": self.supervisor.pid(i.name) if running else None,
                    # running, restarting, crash-looping or stopped (`Supervisor.state`)
                    "state": self.supervisor.state(i.name),
                    "restarts": self.supervisor.restarts(i.name),
                    # Its current run passed its readiness check (restarts after a crash
                    # too): a worker that runs but is not ready yet does no work.
                    "ready": running and self._is_ready(i.name),
                }
            )
        return {
            "processes": processes,
            "gateway": self.gateway_url if self.port else None,
            "kafka": self.env.get("KAFKA_BOOTSTRAP_SERVERS"),
            # The socket is the owner's only (0600): tools reach the same infrastructure.
            "env": {k: v for k, v in self.env.items() if k in INFRA_VARS},
        }

    def scale(self, service: str, count: int) -> tuple[list[str], list[str]]:
        """Run ``count`` processes of ``service`` from now on: start new ones (and wait until
        they are ready) or stop the newest. Returns (started, stopped) process names.

        The service's one-shot setup ran when the platform started; migrations too. Zero
        stops every process of the service (its group then has no members).
        """
        spec = by_name(service, self._table)
        if count < 0:
            raise PlatformError(f"cannot run {count} processes of {service}")
        if count > 1 and not spec.scalable:
            raise PlatformError(f"{service} runs once and cannot scale")
        with self._changing:
            current = self.instances_of(service)
            if not current and not any(s.name == service for s in self._table):
                raise PlatformError(f"{service} is not part of this platform")
            if not current and count and spec.setup:
                self._run_oneshot(f"{service}-setup", spec.setup)
            started: list[str] = []
            stopped: list[str] = []
            # A member that is down (crashed, or waiting out its restart backoff) does not
            # count: it is started again now while the scale needs it, forgotten if not.
            alive = [i for i in current if self.supervisor.is_running(i.name)]
            for instance in sorted(current, key=lambda i: i.index):
                if instance in alive:
                    continue
                if len(alive) < count:
                    self._launch(instance.name)
                    alive.append(instance)
                    started.append(instance.name)
                else:
                    self.supervisor.stop(instance.name)  # cancels a pending restart
                    self.instances.remove(instance)
            for instance in sorted(alive, key=lambda i: i.index, reverse=True)[
                : max(0, len(alive) - count)
            ]:
                self.supervisor.stop(instance.name)
                self.instances.remove(instance)
                stopped.append(instance.name)
            used = {i.index for i in self.instances_of(service)}
            index = 1
            while len(self.instances_of(service)) < count:
                while index in used:
                    index += 1
                instance = Instance(spec, self._name_for(service, index), index)
                used.add(index)
                self.instances.append(instance)
                self.supervisor.add(self._spec(instance.name, instance, spec.argv))
                self._launch(instance.name)
                started.append(instance.name)
            for name in started:
                self.wait_ready(name)
            return started, stopped

    def stop_service(self, service: str) -> list[str]:
        """Stop every running process of ``service`` (they stay in the table), and cancel
        the pending restart of any that crashed; return their names, for `start_names` to
        bring back."""
        with self._changing:
            names = [
                i.name
                for i in self.instances_of(service)
                if self.supervisor.is_running(i.name) or self.supervisor.is_restarting(i.name)
            ]
            for name in names:
                self.supervisor.stop(name)
            return names

    def crash(self, name: str) -> int:
        """SIGKILL one process as a crash would (the restart policy brings it back);
        return the pid killed."""
        self._instance(name)
        pid = self.supervisor.crash(name)
        if pid is None:
            raise PlatformError(f"{name} is not running")
        return pid

    def pause_service(self, service: str) -> list[str]:
        """SIGSTOP every running process of ``service``; return their names."""
        with self._changing:
            names = [
                i.name for i in self.instances_of(service) if self.supervisor.is_running(i.name)
            ]
            if not names:
                raise PlatformError(f"no running process of {service!r} to pause")
            for name in names:
                self.supervisor.pause(name)
            return names

    def resume_service(self, service: str) -> list[str]:
        """SIGCONT every paused process of ``service``; return their names."""
        with self._changing:
            names = [
                i.name for i in self.instances_of(service) if self.supervisor.is_paused(i.name)
            ]
            for name in names:
                self.supervisor.resume(name)
            return names

    def start_names(self, names: Sequence[str]) -> None:
        """Start the named (stopped) processes again and wait until each is ready."""
        with self._changing:
            for name in names:
                self._instance(name)
                if not self.supervisor.is_running(name):
                    self._launch(name)
            for name in names:
                self.wait_ready(name)

    def _watch_readiness(self, name: str, pid: int) -> None:
        """Every run of a service process gets its readiness check from its first line."""
        for instance in self.instances:
            if instance.name == name:
                self._ready_checks[name] = (pid, self._check(instance))

    def _is_ready(self, name: str) -> bool:
        pid, check = self._ready_checks.get(name, (None, None))
        if pid is None or pid != self.supervisor.pid(name):
            return False
        if check is None:
            return True
        try:
            ready = bool(check())
        except Exception:
            return False
        if ready:
            self._ready_checks[name] = (pid, None)  # once ready, this run stays ready
        return ready

    def _launch(self, name: str) -> None:
        """Start a process and watch for its readiness line from its first line on: a
        worker that reads a backlog can print more than the tail holds while the
        processes started before it are still getting ready."""
        pid = self.supervisor.start(name)
        self._ready_checks[name] = (pid, self._check(self._instance(name)))

    def _name_for(self, service: str, index: int) -> str:
        """Reuse the name a process of this index had before (``payment`` or ``payment.1``)."""
        if index == 1 and f"{service}.1" in self.supervisor.names:
            return f"{service}.1"
        return instance_name(service, index)

    def _instance(self, name: str) -> Instance:
        for instance in self.instances:
            if instance.name == name:
                return instance
        raise PlatformError(f"no process {name!r} here; processes: {', '.join(self.names)}")

    def _start(self) -> None:
        self.port = self._gateway_port() if self._wants("{port}") else 0
        if self.options.create_topics:
            self._create_topics()
        oneshots: list[tuple[str, Sequence[str]]] = []
        if self._migrate is not None and any(i.service.uses_db for i in self.instances):
            oneshots.append(("migrate", self._migrate))
        for service in {i.service.name: i.service for i in self.instances}.values():
            if service.setup:
                oneshots.append((f"{service.name}-setup", service.setup))
        # All names known up front: one prefix width from the first line on.
        for name, argv in oneshots:
            self.supervisor.add(self._spec(name, None, argv))
        for instance in self.instances:
            self.supervisor.add(self._spec(instance.name, instance, instance.service.argv))
        for name, argv in oneshots:
            self._run_oneshot(name, argv)
        for instance in self.instances:
            self._launch(instance.name)
        for instance in self.instances:
            self.wait_ready(instance.name)

    def _create_topics(self) -> None:
        bootstrap = self.env.get("KAFKA_BOOTSTRAP_SERVERS")
        if not bootstrap:
            raise PlatformError("KAFKA_BOOTSTRAP_SERVERS is not set: cannot create the topics")
        if self._ensure_topics is not None:
            self.topics = list(self._ensure_topics(bootstrap))
        else:
            from kafka_admin.topics import ensure_topics

            replicas = int(self.env.get("TOPIC_REPLICATION_FACTOR") or 1)
            self.topics = list(ensure_topics(bootstrap, replication_factor=replicas))

    def _run_oneshot(self, name: str, argv: Sequence[str]) -> None:
        """Run a command that must finish (migrate, a service's setup) before the services."""
        spec = self._spec(name, None, argv)
        self.supervisor.start(spec)
        try:
            code = self.supervisor.wait_exit(name, self.options.migrate_timeout)
        except NotReady as exc:
            self.supervisor.stop(name)
            raise PlatformError(str(exc)) from exc
        if code != 0:
            tail = "\n".join(f"    {line}" for line in self.supervisor.tail(name, 30))
            raise PlatformError(f"{name} failed with exit code {code}:\n{tail}")

    def _spec(self, name: str, instance: Instance | None, argv: Sequence[str]) -> ProcessSpec:
        values = {
            "python": sys.executable,
            "port": str(self.port),
            "instance": name,
        }
        env = {**self.env}
        if instance is not None:
            env.update({k: fill(v, values) for k, v in instance.service.env.items()})
            env["SAGACTL_INSTANCE"] = name
        return ProcessSpec(
            name=name,
            argv=[fill(a, values) for a in argv],
            env=env,
            cwd=self._cwd,
            stop_timeout=self.options.stop_timeout,
            oneshot=instance is None,
        )

    def _check(self, instance: Instance) -> Callable[[], bool] | None:
        ready = instance.service.ready
        if isinstance(ready, HttpOk):
            url = f"http://127.0.0.1:{self.port}{ready.path}"

            def answers_200() -> bool:
                status = http_status(url)  # connection errors show in the timeout message
                if status != 200:
                    raise PlatformError(f"GET {ready.path} answered {status}")
                return True

            return answers_200
        if isinstance(ready, LogLine):
            return self.supervisor.line_seen(instance.name, ready.pattern)
        return None

    def _wants(self, placeholder: str) -> bool:
        return any(placeholder in arg for i in self.instances for arg in i.service.argv)

    def _gateway_port(self) -> int:
        port = self.options.port
        if port == 0:
            return free_port()
        if not port_is_free(port):
            raise PlatformError(
                f"port {port} on 127.0.0.1 is already in use; pick another with --port,"
                " or --port 0 for a free one"
            )
        return port


#: Loopback checks must not go through an HTTP proxy from the environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_status(url: str, timeout: float = 2.0) -> int:
    """The status of ``GET url`` (no proxy); raises on connection errors."""
    try:
        with _DIRECT.open(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """True if ``GET url`` answers 200; connection errors and other statuses are False."""
    try:
        return http_status(url, timeout) == 200
    except (urllib.error.URLError, OSError):
        return False


def fill(template: str, values: Mapping[str, str]) -> str:
    """Replace the ``{name}`` placeholders of ``values`` only (a ``-c`` script keeps its
    other braces)."""
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template
