"""The one factory of aiokafka admin clients (and of the offsets-only consumer that
reads beginning/end offsets next to it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

Bootstrap = str | Sequence[str]


def servers(bootstrap: Bootstrap) -> list[str]:
    """``host:port`` strings from a comma-separated string or a list of them."""
    parts = bootstrap.split(",") if isinstance(bootstrap, str) else bootstrap
    return [s.strip() for s in parts if s.strip()]


def new_admin(
    bootstrap: Bootstrap, *, request_timeout_ms: int | None = None
) -> AIOKafkaAdminClient:
    """An admin client, not started yet (for a caller that keeps one open, like the
    dashboard's monitor); most callers want :func:`admin`. ``request_timeout_ms``: None
    keeps aiokafka's default."""
    extra = {} if request_timeout_ms is None else {"request_timeout_ms": request_timeout_ms}
    return AIOKafkaAdminClient(bootstrap_servers=servers(bootstrap), **extra)


@asynccontextmanager
async def admin(
    bootstrap: Bootstrap,
    *,
    request_timeout_ms: int | None = None,
    start_timeout: float | None = None,
) -> AsyncIterator[AIOKafkaAdminClient]:
    """A started admin client, closed on exit (also when starting it failed).

    ``start_timeout`` bounds the start (the bootstrap) in seconds; None waits as long as
    aiokafka does.
    """
    client = new_admin(bootstrap, request_timeout_ms=request_timeout_ms)
    try:
        await asyncio.wait_for(client.start(), start_timeout)
        yield client
    finally:
        await client.close()


def new_offsets_consumer(
    bootstrap: Bootstrap, *, request_timeout_ms: int | None = None
) -> AIOKafkaConsumer:
    """A consumer without a group and without auto-commit, for reading offsets (it
    assigns partitions itself, so it never joins a group); not started yet.
    ``request_timeout_ms``: None keeps the consumer's default."""
    extra = {} if request_timeout_ms is None else {"request_timeout_ms": request_timeout_ms}
    return AIOKafkaConsumer(bootstrap_servers=servers(bootstrap), enable_auto_commit=False, **extra)


@asynccontextmanager
async def offsets_consumer(
    bootstrap: Bootstrap, *, request_timeout_ms: int | None = None
) -> AsyncIterator[AIOKafkaConsumer]:
    """A started :func:`new_offsets_consumer`, stopped on exit."""
    consumer = new_offsets_consumer(bootstrap, request_timeout_ms=request_timeout_ms)
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()
