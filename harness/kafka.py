"""A single-node Apache Kafka (KRaft, broker and controller in one JVM) from Maven jars."""

from __future__ import annotations

import base64
import secrets
import tempfile
import time
from pathlib import Path

from harness.jars import KAFKA_VERSION, ensure_kafka_jars
from harness.packages import ensure
from harness.ports import LOOPBACK, free_ports
from harness.process import ChildProcess, StartupError
from harness.server import LocalServer
from kafka_admin.topics import wait_for_broker

#: Small and quick to start on a 2-core machine (see docs/LOCAL_KAFKA.md).
JVM_FLAGS = ("-Xms256m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")
STARTED = "Kafka Server started"


def new_cluster_id() -> str:
    """16 random bytes, URL-safe base64 without padding, never starting with ``-``."""
    while True:
        cluster_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def render_server_properties(
    *, port: int, controller_port: int, log_dir: Path, node_id: int = 1
) -> str:
    """``server.properties`` of a combined broker+controller on loopback."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": f"{node_id}@{LOOPBACK}:{controller_port}",
        "listeners": f"PLAINTEXT://{LOOPBACK}:{port},CONTROLLER://{LOOPBACK}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(log_dir),
        # One node: every internal topic has a single replica.
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        # Consumers join at once; topics exist only when the project creates them.
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        # The 128 MB default dedupe buffer would be allocated on our 512 MB heap.
        "log.cleaner.dedupe.buffer.size": "2097152",
        "num.network.threads": "2",
        "num.io.threads": "2",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def render_log4j() -> str:
    """Quiet logging: warnings, plus the one INFO line that says the server is up."""
    return (
        "log4j.rootLogger=WARN, stdout\n"
        "log4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
        "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
        "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
        "log4j.logger.kafka.server.KafkaRaftServer=INFO\n"
    )


class KafkaBroker(LocalServer):
    """A throwaway broker on free loopback ports with its data in a temporary folder.

    ``stop()`` then ``start()`` restarts it on the same ports with the same data, so
    tests can prove that nothing is lost across a broker restart. ``close()`` stops it
    and deletes the folder.
    """

    def __init__(
        self,
        *,
        base_dir: Path | None = None,
        version: str = KAFKA_VERSION,
        port: int | None = None,
        controller_port: int | None = None,
        startup_timeout: float = 120.0,
    ) -> None:
        picked = free_ports(2)
        self.port = port or picked[0]
        self.controller_port = controller_port or picked[1]
        self.version = version
        self.startup_timeout = startup_timeout
        self.dir = Path(tempfile.mkdtemp(prefix="kafka-", dir=base_dir))
        self.cluster_id = new_cluster_id()
        super().__init__()
        #: Seconds the last ``start()`` took (jar download excluded).
        self.startup_seconds: float | None = None

    @property
    def bootstrap(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.dir / "kafka.log"

    def start(self) -> None:
        """Start (formatting the storage on first start) and wait until it serves requests."""
        java = ensure("java")["java"]
        libs = ensure_kafka_jars(self.version)
        began = time.monotonic()
        config = self._write_config()
        classpath = f"{libs}/*"
        jvm = [java, *JVM_FLAGS, f"-Dlog4j.configuration=file:{self.dir / 'log4j.properties'}"]
        if not (self.dir / "data" / "meta.properties").exists():
            self._format(jvm, classpath, config)
        self._process = ChildProcess(
            "kafka",
            [*jvm, "-cp", classpath, "kafka.Kafka", str(config)],
            self.log_path,
            cwd=self.dir,
        )
        self._process.start()
        try:
            self._process.wait_for_output(STARTED, self.startup_timeout)
            remaining = max(5.0, self.startup_timeout - (time.monotonic() - began))
            wait_for_broker(self.bootstrap, remaining)
        except BaseException:
            self._process.stop(timeout=10)
            raise
        self.startup_seconds = time.monotonic() - began

    def _write_config(self) -> Path:
        config = self.dir / "server.properties"
        config.write_text(
            render_server_properties(
                port=self.port, controller_port=self.controller_port, log_dir=self.dir / "data"
            )
        )
        (self.dir / "log4j.properties").write_text(render_log4j())
        return config

    def _format(self, jvm: list[str], classpath: str, config: Path) -> None:
        fmt = ChildProcess(
            "kafka-storage-format",
            [
                *jvm,
                "-cp",
                classpath,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                self.cluster_id,
                "-c",
                str(config),
            ],
            self.dir / "format.log",
            cwd=self.dir,
        )
        fmt.start()
        code = fmt.wait(timeout=self.startup_timeout)
        if code != 0:
            raise StartupError(f"formatting Kafka storage failed ({code}):\n{fmt.tail()}")
