"""The dashboard's change counter: one version per broadcast change, shared by processes.

The projector takes the next version for each batch it publishes; a browser's
WebSocket learns the current one when it connects (or resyncs) and then expects
every later version, in order. A missing one means the channel layer dropped a
message, and the browser reloads its snapshot.
"""

from __future__ import annotations

from typing import Protocol

import redis.asyncio as aioredis
from django.conf import settings

KEY = "dashboard:version"


class Versions(Protocol):
    async def next(self) -> int: ...

    async def current(self) -> int: ...


class RedisVersions:
    """The counter in Redis (``INCR``): atomic across the projector and every daphne."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def next(self) -> int:
        async with aioredis.from_url(self.url) as client:
            return int(await client.incr(KEY))

    async def current(self) -> int:
        async with aioredis.from_url(self.url) as client:
            return int(await client.get(KEY) or 0)


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
