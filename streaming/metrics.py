"""A worker's ``GET /metrics`` (Prometheus text) on a small asyncio HTTP server.

On when ``METRICS_PORT`` is set (``0``: any free port), on ``METRICS_HOST``
(default 127.0.0.1). The address is logged as ``metrics: http://host:port/metrics``.
One request per connection, GET only: enough for a scraper and ``curl``.
"""

from __future__ import annotations

import asyncio
import logging
import os

from config.prometheus import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)


def address_from_env() -> tuple[str, int] | None:
    """``(METRICS_HOST, METRICS_PORT)`` when ``METRICS_PORT`` is set, else None."""
    raw = os.environ.get("METRICS_PORT", "").strip()
    if not raw:
        return None
    try:
        port = int(raw)
    except ValueError:
        raise ValueError(f"METRICS_PORT must be a port number, got {raw!r}") from None
    host = os.environ.get("METRICS_HOST", "").strip() or "127.0.0.1"
    return host, port


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
