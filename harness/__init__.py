"""The infrastructure harness: Kafka, PostgreSQL and Redis started by the project itself
(`stack`), and the platform's processes supervised as one unit (`runner`, `supervisor`,
the process table in `services`, the `control` socket). Only the `sagactl` CLI and the
tests import it."""

from harness.kafka import KafkaBroker
from harness.postgres import PostgresServer
from harness.redis import RedisServer
from harness.stack import Stack

__all__ = ["KafkaBroker", "PostgresServer", "RedisServer", "Stack"]
