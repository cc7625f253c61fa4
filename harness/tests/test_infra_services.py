"""Integration: PostgreSQL, Redis and the Stack started as local processes, then stopped."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import psycopg
import pytest
import redis

from harness.ports import is_listening
from harness.postgres import PostgresServer
from harness.redis import RedisServer
from harness.stack import Stack

pytestmark = pytest.mark.integration

OVERRIDES = ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "REDIS_URL")


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def test_postgres_serves_the_saga_database_and_extra_ones() -> None:
    with PostgresServer() as pg:
        with psycopg.connect(pg.url) as conn:
            conn.execute("CREATE TABLE orders (id text PRIMARY KEY)")
            conn.execute("INSERT INTO orders VALUES ('order-1')")
            assert conn.execute("SELECT current_database(), count(*) FROM orders").fetchone() == (
                "saga",
                1,
            )
        other = pg.create_database("saga_other")
        assert pg.create_database("saga_other") == other  # idempotent
        with psycopg.connect(other) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("saga_other",)
        folder = pg.dir
    assert not is_listening(pg.port)
    assert not folder.exists()


def test_postgres_refuses_connections_without_the_password_and_the_app_is_no_superuser() -> None:
    with PostgresServer() as pg:
        parts = urlsplit(pg.url)
        for user, password in [("saga", None), ("postgres", None), ("saga", "wrong")]:
            with pytest.raises(psycopg.OperationalError, match="password"):
                psycopg.connect(
                    host=parts.hostname,
                    port=parts.port,
                    user=user,
                    password=password,
                    dbname="saga",
                    connect_timeout=5,
                )
        with psycopg.connect(pg.url) as conn:
            row = conn.execute(
                "SELECT rolsuper, rolcreatedb FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
            assert row == (False, True)
            assert conn.execute("SHOW password_encryption").fetchone() == ("scram-sha-256",)


def test_redis_needs_its_password_persists_and_never_evicts() -> None:
    with RedisServer() as server:
        anonymous = redis.Redis(host="127.0.0.1", port=server.port)
        with pytest.raises(redis.AuthenticationError):
            anonymous.set("order-1", "PENDING")
        anonymous.close()
        client = redis.Redis.from_url(server.url)
        client.set("order-1", "PENDING")
        assert client.get("order-1") == b"PENDING"
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert int(client.config_get("maxmemory")["maxmemory"]) > 0
        client.close()
        folder = server.dir
    assert not is_listening(server.port)
    assert not folder.exists()


def test_stack_starts_local_processes_and_cleans_up() -> None:
    stack = Stack(kafka=False, docker=False, environ={})
    with stack:
        env = stack.env()
        assert set(env) == {"DATABASE_URL", "REDIS_URL"}
        assert stack.kafka is None and stack.postgres is not None and stack.redis is not None
        with psycopg.connect(env["DATABASE_URL"]) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert redis.Redis.from_url(env["REDIS_URL"]).ping()
        workdir = stack.redis.dir.parent  # the stack's own temporary folder
    assert stack.dead() == ["postgres", "redis"]
    assert not is_listening(_port(env["DATABASE_URL"]))
    assert not is_listening(_port(env["REDIS_URL"]))
    assert not workdir.exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stack_command_stops_everything_on_a_signal(sig: signal.Signals) -> None:
    env = {k: v for k, v in os.environ.items() if k not in OVERRIDES}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sagactl", "stack", "--no-kafka", "--no-postgres", "--no-docker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A background shell starts children with SIGINT ignored; a terminal would not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        deadline = time.monotonic() + 60
        line = ""
        while not line.startswith("export REDIS_URL="):
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        url = line.split("=", 1)[1].strip()
        assert redis.Redis.from_url(url).ping()
        proc.send_signal(sig)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == (0 if sig == signal.SIGINT else 128 + sig)
    assert not is_listening(_port(url))
