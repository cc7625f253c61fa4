"""Wait for the broker before a worker starts, instead of exiting with code 1.

Faust (through aiokafka) raises at start-up when no broker answers, and so does the
creation of the worker's changelog topics (`streaming.internal_topics`) that runs
before it. A worker started while Kafka is down (a broker restart, a machine coming up
in the wrong order) would die, and only a supervisor could bring it back. Instead,
``python -m <worker> worker`` probes the brokers' metadata with backoff, saying
"waiting for Kafka at ..." each time, and starts Faust once they answer. Until then it
prints no "Ready" line, so its readiness stays false.

After start-up Faust rides out a broker restart by itself (its consumer and producer
reconnect); this only covers the start.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import TypeVar

from aiokafka import AIOKafkaClient

T = TypeVar("T")

#: Probe again after this many seconds, doubling up to `CAP`.
INITIAL = 0.5
CAP = 10.0


async def probe_kafka(bootstrap: str, timeout: float = 5.0) -> None:
    """Raise unless a broker of ``bootstrap`` answers a metadata request."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
    finally:
        await client.close()


def say(message: str) -> None:
    """Before Faust starts, its logging is not set up yet: write to stderr directly."""
    print(f"[streaming] {message}", file=sys.stderr, flush=True)


def retry_until_done(
    what: str,
    attempt: Callable[[], T],
    *,
    initial: float = INITIAL,
    cap: float = CAP,
    sleep: Callable[[float], None] = time.sleep,
    report: Callable[[str], None] = say,
) -> T:
    """Call ``attempt`` until it returns; after each failure report "waiting for
    ``what``" with the reason and wait (``initial`` s, doubling up to ``cap``)."""
    delay = initial
    waited = False
    while True:
        try:
            result = attempt()
        except Exception as exc:  # any failure to reach it: keep waiting
            reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
            report(f"waiting for {what} ({reason}); retrying in {delay:g}s")
            waited = True
            sleep(delay)
            delay = min(delay * 2, cap)
            continue
        if waited:
            report(f"{what} answers; starting")
        return result


def wait_for_kafka(bootstrap: str, then: Callable[[], T] | None = None) -> T | None:
    """Block until the brokers of ``bootstrap`` answer (and ``then``, e.g. creating the
    worker's own topics, succeeded); return what ``then`` returned."""

    def attempt() -> T | None:
        asyncio.run(probe_kafka(bootstrap))
        return then() if then is not None else None

    return retry_until_done(f"Kafka at {bootstrap}", attempt)
