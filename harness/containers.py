"""Kafka, PostgreSQL and Redis in containers, for machines where a Docker engine answers."""

from __future__ import annotations

from typing import Protocol

from harness.ports import free_port

KAFKA_IMAGE = "apache/kafka:3.9.1"
POSTGRES_IMAGE = "postgres:15"
REDIS_IMAGE = "redis:7"


class Stoppable(Protocol):
    def stop(self) -> object: ...


def docker_available(timeout: float = 3.0) -> bool:
    """True only when a Docker engine answers a ping (a ``docker`` client alone is not enough)."""
    try:
        from testcontainers.core.docker_client import DockerClient

        client = DockerClient(timeout=int(timeout)).client
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def start_kafka() -> tuple[Stoppable, str]:
    """A KRaft broker from the official image; returns the container and its bootstrap.

    testcontainers' ``KafkaContainer`` drives Confluent images only, so this configures
    ``apache/kafka`` through its ``KAFKA_*`` variables. The advertised address must be
    known before start, hence a fixed, freshly picked host port.
    """
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    host_port = free_port()
    container = (
        DockerContainer(KAFKA_IMAGE)
        .with_bind_ports(9092, host_port)
        .with_env("KAFKA_NODE_ID", "1")
        .with_env("KAFKA_PROCESS_ROLES", "broker,controller")
        .with_env("KAFKA_LISTENERS", "PLAINTEXT://:9092,CONTROLLER://:9093")
        .with_env("KAFKA_ADVERTISED_LISTENERS", f"PLAINTEXT://127.0.0.1:{host_port}")
        .with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
        .with_env(
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
        )
        .with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
        .with_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
        .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
        .waiting_for(LogMessageWaitStrategy("Kafka Server started").with_startup_timeout(120))
    )
    container.start()
    return container, f"127.0.0.1:{host_port}"


def start_postgres(database: str = "saga") -> tuple[Stoppable, str]:
    from testcontainers.community.postgres import PostgresContainer

    container = PostgresContainer(POSTGRES_IMAGE, dbname=database, driver=None)
    container.start()
    return container, container.get_connection_url(driver=None)


def start_redis() -> tuple[Stoppable, str]:
    from testcontainers.community.redis import RedisContainer

    container = RedisContainer(REDIS_IMAGE)
    container.start()
    host, port = container.get_container_host_ip(), container.get_exposed_port(6379)
    return container, f"redis://{host}:{port}/0"
