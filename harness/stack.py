"""The whole infrastructure for tests and local runs, started together and stopped together."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from harness import containers
from harness.kafka import KafkaBroker, KafkaCluster
from harness.plan import ENV_VARS, Source, plan
from harness.postgres import PostgresServer
from harness.redis import RedisServer

#: What a stack with a broker cluster exports besides the addresses (`config.env`).
REPLICATION_VAR = "TOPIC_REPLICATION_FACTOR"


class Stack:
    """Kafka, PostgreSQL and Redis, each taken from the environment, Docker or a local process.

    A component whose variable (``KAFKA_BOOTSTRAP_SERVERS``, ``DATABASE_URL``,
    ``REDIS_URL``) is set is not started: that value is used. Otherwise a container runs
    when a Docker engine answers (``docker=None`` asks; ``False`` never uses Docker),
    else a local process. ``stop()`` also runs at exit and on SIGTERM.

    ``brokers=3`` starts a local three-node KRaft cluster (`KafkaCluster`, never a
    container) and exports all three addresses plus ``TOPIC_REPLICATION_FACTOR=3``, so
    the platform's topics and changelogs get three replicas (two in sync per write).
    """

    def __init__(
        self,
        kafka: bool = True,
        postgres: bool = True,
        redis: bool = True,
        workdir: Path | str | None = None,
        *,
        docker: bool | None = None,
        environ: Mapping[str, str] | None = None,
        brokers: int = 1,
        jvm: str = "fast",
    ) -> None:
        if brokers < 1:
            raise ValueError(f"brokers must be at least 1, not {brokers}")
        self.brokers = brokers
        #: The broker's JVM profile (``harness.kafka.JVM_PROFILES``).
        self.jvm = jvm
        self._wanted = {"kafka": kafka, "postgres": postgres, "redis": redis}
        self._workdir_arg = Path(workdir) if workdir is not None else None
        self._docker = docker
        self._environ = dict(os.environ if environ is None else environ)
        self.sources: dict[str, Source] = {}
        self.kafka: KafkaBroker | KafkaCluster | None = None
        self.postgres: PostgresServer | None = None
        self.redis: RedisServer | None = None
        #: Seconds each component took to become ready (started ones only).
        self.timings: dict[str, float] = {}
        self._values: dict[str, str] = {}
        self._containers: list[containers.Stoppable] = []
        self._workdir: Path | None = None
        self._owns_workdir = False
        self._lock = threading.Lock()
        self._previous_sigterm: Any = None
        self._started = False

    def start(self) -> Stack:
        """Bring up every wanted component (in parallel) and wait until each is ready."""
        if self._started:
            return self
        self._started = True
        atexit.register(self.stop)
        self._install_sigterm()
        self.sources = plan(self._wanted, self._environ, self._docker_available)
        for name, source in self.sources.items():
            if source is Source.EXTERNAL:
                self._values[name] = self._environ[ENV_VARS[name]].strip()
        starters = {
            name: self._starter(name, source)
            for name, source in self.sources.items()
            if source in (Source.DOCKER, Source.LOCAL)
        }
        if starters:
            self._prepare_workdir()
        try:
            with ThreadPoolExecutor(max_workers=len(starters) or 1) as pool:
                futures = {
                    name: pool.submit(self._timed, name, fn) for name, fn in starters.items()
                }
                errors = []
                for name, future in futures.items():
                    try:
                        self._values[name] = future.result()
                    except BaseException as exc:
                        errors.append((name, exc))
            if errors:
                name, first = errors[0]
                raise RuntimeError(f"starting {name} failed: {first}") from first
        except BaseException:
            self.stop()
            raise
        return self

    def env(self) -> dict[str, str]:
        """The environment variables that point at this stack's components."""
        env = {ENV_VARS[name]: value for name, value in self._values.items()}
        if isinstance(self.kafka, KafkaCluster):
            env[REPLICATION_VAR] = str(self.kafka.size)
        return env

    def dead(self) -> list[str]:
        """Names of local components whose process has died (empty when all is well)."""
        local = {"kafka": self.kafka, "postgres": self.postgres, "redis": self.redis}
        return [name for name, server in local.items() if server is not None and not server.running]

    def stop(self) -> None:
        """Stop every started component and delete the temporary folders; safe to repeat."""
        with self._lock:
            servers = [s for s in (self.kafka, self.postgres, self.redis) if s is not None]
            stoppers: list[Callable[[], object]] = [s.close for s in servers]
            stoppers += [c.stop for c in self._containers]
            self._containers.clear()
            if stoppers:
                with ThreadPoolExecutor(max_workers=len(stoppers)) as pool:
                    for future in [pool.submit(fn) for fn in stoppers]:
                        try:
                            future.result()
                        except Exception as exc:  # keep stopping the others
                            print(f"stack: error while stopping: {exc!r}", file=sys.stderr)
            if self._owns_workdir and self._workdir is not None:
                shutil.rmtree(self._workdir, ignore_errors=True)
                self._workdir = None
            self._restore_sigterm()
            atexit.unregister(self.stop)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals ---------------------------------------------------------------------

    def _docker_available(self) -> bool:
        return self._docker if self._docker is not None else containers.docker_available()

    def _prepare_workdir(self) -> None:
        if self._workdir_arg is not None:
            self._workdir_arg.mkdir(parents=True, exist_ok=True)
            self._workdir = self._workdir_arg
        else:
            self._workdir = Path(tempfile.mkdtemp(prefix="saga-stack-"))
            self._owns_workdir = True

    def _timed(self, name: str, start: Callable[[], str]) -> str:
        began = time.monotonic()
        value = start()
        self.timings[name] = time.monotonic() - began
        return value

    def _starter(self, name: str, source: Source) -> Callable[[], str]:
        if name == "kafka" and self.brokers > 1:
            return self._start_kafka  # a cluster always runs as local processes
        if source is Source.DOCKER:
            return {
                "kafka": lambda: self._container(containers.start_kafka),
                "postgres": lambda: self._container(containers.start_postgres),
                "redis": lambda: self._container(containers.start_redis),
            }[name]
        return {
            "kafka": self._start_kafka,
            "postgres": self._start_postgres,
            "redis": self._start_redis,
        }[name]

    def _container(self, start: Callable[[], tuple[containers.Stoppable, str]]) -> str:
        container, value = start()
        with self._lock:
            self._containers.append(container)
        return value

    def _start_kafka(self) -> str:
        if self.brokers > 1:
            self.kafka = KafkaCluster(self.brokers, base_dir=self._workdir, jvm=self.jvm)
        else:
            self.kafka = KafkaBroker(base_dir=self._workdir, jvm=self.jvm)
        self.kafka.start()
        return self.kafka.bootstrap

    def _start_postgres(self) -> str:
        self.postgres = PostgresServer(base_dir=self._workdir)
        self.postgres.start()
        return self.postgres.url

    def _start_redis(self) -> str:
        self.redis = RedisServer(base_dir=self._workdir)
        self.redis.start()
        return self.redis.url

    def _install_sigterm(self) -> None:
        """Turn SIGTERM into SystemExit so ``with`` blocks and atexit stop the stack."""
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return
        self._previous_sigterm = signal.signal(signal.SIGTERM, _exit_on_sigterm)

    def _restore_sigterm(self) -> None:
        if self._previous_sigterm is None:
            return
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)
