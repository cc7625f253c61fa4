"""The infrastructure harness: Kafka, PostgreSQL and Redis started by the project itself."""

from sagactl.infra.kafka import KafkaBroker
from sagactl.infra.postgres import PostgresServer
from sagactl.infra.redis import RedisServer
from sagactl.infra.stack import Stack

__all__ = ["KafkaBroker", "PostgresServer", "RedisServer", "Stack"]
