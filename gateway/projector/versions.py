"""The dashboard's change counter: one version per broadcast change, shared by processes.

The projector takes the next version for each batch it publishes; a browser's
WebSocket learns the current one when it connects (or resyncs) and then expects
every later version, in order. A missing one means the channel layer dropped a
message, and the browser reloads its snapshot.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Protocol

import redis.asyncio as aioredis
from django.conf import settings

KEY = "dashboard:version"


class Versions(Protocol):
    async def next(self) -> int: ...

    async def current(self) -> int: ...


#: One client (and its connection pool) per event loop and URL: a server process has
#: one loop, so every WebSocket of the process shares one client instead of opening a
#: connection per ``sync``. Keyed by loop because an asyncio client belongs to its loop.
_CLIENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, aioredis.Redis]] = (
    weakref.WeakKeyDictionary()
)


def shared_client(url: str) -> aioredis.Redis:
    """The client of ``url`` for the running event loop, created on first use."""
    by_url = _CLIENTS.setdefault(asyncio.get_running_loop(), {})
    client = by_url.get(url)
    if client is None:
        client = by_url[url] = aioredis.Redis.from_url(
            url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30
        )
    return client


class RedisVersions:
    """The counter in Redis (``INCR``): atomic across the projector and every daphne,
    through the process's shared client (``shared_client``)."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def next(self) -> int:
        return int(await shared_client(self.url).incr(KEY))

    async def current(self) -> int:
        return int(await shared_client(self.url).get(KEY) or 0)


class MemoryVersions:
    """A counter in this process, for tests."""

    def __init__(self, start: int = 0) -> None:
        self.value = start

    async def next(self) -> int:
        self.value += 1
        return self.value

    async def current(self) -> int:
        return self.value


def versions_from_settings() -> Versions:
    return RedisVersions(settings.PLATFORM.redis_url)
