"""A worker's metrics: its registry and gauges, and ``GET /metrics`` (Prometheus text)
on a small asyncio HTTP server.

The endpoint is on when the worker's settings give a port (``METRICS_PORT``; ``0``: any
free port), on ``METRICS_HOST`` (default 127.0.0.1). The address is logged as
``metrics: http://host:port/metrics``. One request per connection, GET only: enough
for a scraper and ``curl``. The counters (events, retries, dead letters) are counted
by ``streaming.failures.FailureHandling`` into the same registry.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Mapping

import faust

from config.prometheus import CONTENT_TYPE, Metrics
from streaming.faults import FaultInjector
from streaming.upstream import commit_watchdog

log = logging.getLogger(__name__)


def register_gauges(metrics: Metrics, app: faust.App, injector: FaultInjector) -> None:
    """The worker's gauges: consumer lag per partition, resident memory, faults in force."""

    def lags() -> Iterable[tuple[Mapping[str, str], float]]:
        # The one reader of Faust's offsets: the commit watchdog's snapshot.
        for tp, seen in sorted(commit_watchdog.snapshot(app).items()):
            if seen.highwater is not None:
                lag = max(0, seen.highwater - (seen.committed or 0))
                yield {"topic": tp.topic, "partition": str(tp.partition)}, lag

    metrics.collect(
        "saga_consumer_lag", "Messages of each assigned partition after the committed offset", lags
    )
    metrics.collect(
        "process_resident_memory_bytes", "Resident memory of this worker", _resident_memory
    )
    metrics.collect(
        "saga_fault_injection",
        "Fault settings in force (rate, latency_ms, fail_attempts)",
        lambda: [
            ({"setting": "rate"}, injector.settings.failure_rate),
            ({"setting": "latency_ms"}, injector.settings.latency_ms),
            ({"setting": "fail_attempts"}, injector.settings.fail_attempts),
        ],
    )


def serve_from(app: faust.App, metrics: Metrics, host: str, port: int) -> None:
    """Serve ``metrics`` while ``app`` runs (an app task)."""

    async def serve_metrics() -> None:
        server = await serve(metrics, host, port)
        async with server:
            await server.serve_forever()

    app.task(serve_metrics)


def _resident_memory() -> Iterable[tuple[Mapping[str, str], float]]:
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, IndexError, ValueError):  # not Linux
        return []
    return [({}, pages * os.sysconf("SC_PAGE_SIZE"))]


async def serve(metrics: Metrics, host: str, port: int) -> asyncio.Server:
    """Start serving ``metrics`` and return the server (already listening)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            method, _, rest = request.partition(b" ")
            path = rest.split(b" ", 1)[0].split(b"?", 1)[0]
            if method != b"GET":
                status, body, kind = "405 Method Not Allowed", b"GET only\n", "text/plain"
            elif path not in (b"/metrics", b"/"):
                status, body, kind = "404 Not Found", b"try /metrics\n", "text/plain"
            else:
                status, body, kind = "200 OK", metrics.render().encode(), CONTENT_TYPE
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, host, port)
    bound = server.sockets[0].getsockname()
    log.info("metrics: http://%s:%d/metrics", bound[0], bound[1])
    return server
