"""Apache Kafka (KRaft, broker and controller in one JVM per node) from Maven jars: one node
(`KafkaBroker`), or a cluster of several nodes on one machine (`KafkaCluster`)."""

from __future__ import annotations

import base64
import secrets
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness.jars import KAFKA_VERSION, ensure_kafka_jars
from harness.packages import ensure
from harness.ports import LOOPBACK, free_ports
from harness.process import ChildProcess, StartupError
from harness.server import LocalServer
from kafka_admin.topics import wait_for_broker

#: Small and quick to start on a 2-core machine (see docs/LOCAL_KAFKA.md).
#: The broker's JVM flags by profile. ``fast`` starts in a few seconds (the client JIT
#: only, serial GC): right for tests, which start brokers often and load them lightly.
#: ``server`` (``sagactl run``, ``make bench``) keeps the server JIT and G1 with short
#: pauses: slower to start, more records per CPU second under load.
JVM_PROFILES = {
    "fast": ("-Xms256m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"),
    "server": ("-Xms512m", "-Xmx1g", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"),
}
STARTED = "Kafka Server started"


def new_cluster_id() -> str:
    """16 random bytes, URL-safe base64 without padding, never starting with ``-``."""
    while True:
        cluster_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def min_insync_replicas(replication_factor: int) -> int:
    """In-sync replicas a write needs: 2 of 3 (one node may be down), 1 on one node."""
    return max(1, min(2, replication_factor - 1))


def render_server_properties(
    *,
    port: int,
    controller_port: int,
    log_dir: Path,
    node_id: int = 1,
    voters: str | None = None,
    replicas: int = 1,
) -> str:
    """``server.properties`` of a combined broker+controller on loopback.

    ``voters`` is the controller quorum (``id@host:port,...``; default: this node
    alone); ``replicas`` the cluster's size, the replication factor of internal topics.
    """
    min_isr = str(min_insync_replicas(replicas))
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": voters or f"{node_id}@{LOOPBACK}:{controller_port}",
        "listeners": f"PLAINTEXT://{LOOPBACK}:{port},CONTROLLER://{LOOPBACK}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(log_dir),
        # Every internal topic has one replica per node; with three, a write needs two.
        "offsets.topic.replication.factor": str(replicas),
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": str(replicas),
        "transaction.state.log.min.isr": min_isr,
        "default.replication.factor": str(replicas),
        "min.insync.replicas": min_isr,
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
        node_id: int = 1,
        cluster_id: str | None = None,
        voters: str | None = None,
        replicas: int = 1,
        jvm: str = "fast",
    ) -> None:
        self.jvm_flags = JVM_PROFILES[jvm]
        picked = free_ports(2) if port is None or controller_port is None else [0, 0]
        self.port = port or picked[0]
        self.controller_port = controller_port or picked[1]
        self.version = version
        self.startup_timeout = startup_timeout
        self.node_id = node_id
        self.voters = voters
        self.replicas = replicas
        self.dir = Path(tempfile.mkdtemp(prefix=f"kafka-{node_id}-", dir=base_dir))
        self.cluster_id = cluster_id or new_cluster_id()
        super().__init__()
        #: Seconds the last ``start()`` took (jar download excluded).
        self.startup_seconds: float | None = None

    @property
    def bootstrap(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.dir / "kafka.log"

    def kill(self) -> None:
        """SIGKILL the JVM (a machine lost); ``start()`` brings it back with its data."""
        if self._process is not None:
            self._process.kill()

    def start(self) -> None:
        """Start (formatting the storage on first start) and wait until it serves requests."""
        java = ensure("java")["java"]
        libs = ensure_kafka_jars(self.version)
        began = time.monotonic()
        config = self._write_config()
        classpath = f"{libs}/*"
        jvm = [java, *self.jvm_flags, f"-Dlog4j.configuration=file:{self.dir / 'log4j.properties'}"]
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
                port=self.port,
                controller_port=self.controller_port,
                log_dir=self.dir / "data",
                node_id=self.node_id,
                voters=self.voters,
                replicas=self.replicas,
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


class KafkaCluster:
    """``size`` combined broker+controller nodes on loopback, one quorum, one cluster id.

    Each node is a `KafkaBroker` (``brokers``, node ids 1..size): kill, stop and start
    one to lose a machine and bring it back. Internal topics are replicated on every
    node, ``min.insync.replicas`` is 2 of 3.
    """

    def __init__(
        self,
        size: int = 3,
        *,
        base_dir: Path | None = None,
        version: str = KAFKA_VERSION,
        startup_timeout: float = 180.0,
        jvm: str = "fast",
    ) -> None:
        if size < 1:
            raise ValueError(f"a cluster needs at least one node, not {size}")
        ports = free_ports(2 * size)
        cluster_id = new_cluster_id()
        voters = ",".join(f"{n + 1}@{LOOPBACK}:{ports[2 * n + 1]}" for n in range(size))
        self.brokers = [
            KafkaBroker(
                base_dir=base_dir,
                version=version,
                port=ports[2 * n],
                controller_port=ports[2 * n + 1],
                startup_timeout=startup_timeout,
                node_id=n + 1,
                cluster_id=cluster_id,
                voters=voters,
                replicas=size,
                jvm=jvm,
            )
            for n in range(size)
        ]
        self.startup_seconds: float | None = None

    @property
    def size(self) -> int:
        return len(self.brokers)

    @property
    def bootstrap(self) -> str:
        """Every node's address, comma-separated (what clients are given)."""
        return ",".join(b.bootstrap for b in self.brokers)

    @property
    def running(self) -> bool:
        """True while every node runs (the stack reports a lost node as dead)."""
        return all(b.running for b in self.brokers)

    def broker(self, node_id: int) -> KafkaBroker:
        for broker in self.brokers:
            if broker.node_id == node_id:
                return broker
        raise KeyError(f"no node {node_id} in this cluster")

    def start(self) -> None:
        """Start every node at once: a node is up only when the quorum has a majority."""
        began = time.monotonic()
        ensure_kafka_jars(self.brokers[0].version)  # once, before the nodes race for it
        with ThreadPoolExecutor(max_workers=self.size) as pool:
            futures = [pool.submit(b.start) for b in self.brokers]
            errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            self.stop(timeout=10)
            raise StartupError(f"starting the Kafka cluster failed: {errors[0]}") from errors[0]
        self.startup_seconds = time.monotonic() - began

    def stop(self, timeout: float | None = None) -> None:
        with ThreadPoolExecutor(max_workers=self.size) as pool:
            list(pool.map(lambda b: b.stop(timeout), self.brokers))

    def close(self) -> None:
        with ThreadPoolExecutor(max_workers=self.size) as pool:
            list(pool.map(lambda b: b.close(), self.brokers))
