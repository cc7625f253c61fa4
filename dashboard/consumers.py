"""The dashboard's WebSocket: a read-only feed of changes and the monitor's status.

On connect (and whenever the browser asks to ``sync``) it says ``hello`` with the
current change version; the browser then loads its snapshot over REST and applies
every later change in order. Nothing a browser sends can change anything.

A staff session's socket joins ``STAFF_GROUP`` (changes with every field), any other
socket ``PUBLIC_GROUP`` (changes without personal fields: ``gateway.orders.presenters``);
both join ``GROUP`` (the monitor's status).

What a browser sends is untrusted: a frame that is not a JSON object of a known
``type`` (binary, not JSON, another shape) is ignored, never raised. ``sync`` costs a
Redis read, so each socket gets ``SYNC_BURST`` at once and then one per
``SYNC_INTERVAL_S``; a sync asked for sooner is answered when its turn comes (several
such requests are answered once), so a browser that lost a change still resyncs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer

from gateway.projector.changes import GROUP, PUBLIC_GROUP, STAFF_GROUP
from gateway.projector.versions import Versions, versions_from_settings

log = logging.getLogger("dashboard.consumers")

#: ``sync`` requests a socket may make at once ...
SYNC_BURST = 3
#: ... and then one per this many seconds.
SYNC_INTERVAL_S = 2.0
#: A frame longer than this is not read (a sync request is 16 characters).
MAX_FRAME_CHARS = 1024


class SyncBudget:
    """A token bucket: ``burst`` tokens, one more every ``interval`` seconds."""

    def __init__(self, burst: int | None = None, interval: float | None = None) -> None:
        self.burst = SYNC_BURST if burst is None else burst
        self.interval = SYNC_INTERVAL_S if interval is None else interval
        self.tokens = float(self.burst)
        self.stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) / self.interval)
        self.stamp = now

    def take(self) -> bool:
        """Take a token if one is there."""
        self._refill()
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def wait_s(self) -> float:
        """Seconds until the next token."""
        self._refill()
        return max(0.0, (1 - self.tokens) * self.interval)


class DashboardConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    #: Replaced in tests; the Redis counter otherwise (one client per process).
    versions_factory = staticmethod(versions_from_settings)

    async def connect(self) -> None:
        self.versions: Versions = self.versions_factory()
        self.staff = _is_staff(self.scope)
        self.groups_joined = (GROUP, STAFF_GROUP if self.staff else PUBLIC_GROUP)
        self.budget = SyncBudget()
        self.pending: asyncio.Task[None] | None = None
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self._hello()

    async def disconnect(self, code: int) -> None:
        if getattr(self, "pending", None) is not None:
            self.pending.cancel()  # type: ignore[union-attr]
        for group in getattr(self, "groups_joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Ignore anything but ``{"type": "sync"}`` (see the module docstring)."""
        if text_data is None or len(text_data) > MAX_FRAME_CHARS:
            return
        try:
            content = json.loads(text_data)
        except ValueError:  # not JSON (RecursionError cannot happen within the size cap)
            return
        if isinstance(content, dict) and content.get("type") == "sync":
            await self._sync_requested()

    async def _sync_requested(self) -> None:
        if self.pending is not None:
            return  # already answered when its turn comes
        if self.budget.take():
            await self._hello()
            return
        self.pending = asyncio.create_task(self._later(self.budget.wait_s()))

    async def _later(self, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
            self.budget.take()
            await self._hello()
        except Exception:  # the socket closed meanwhile
            log.debug("dashboard: a deferred sync was not answered", exc_info=True)
        finally:
            self.pending = None

    async def dashboard_push(self, event: dict[str, Any]) -> None:
        """``dashboard.push``: a change (versioned) or a status (carries the version)."""
        await self.send(text_data=json.dumps(event["message"]))

    async def _hello(self) -> None:
        version = await self.versions.current()
        await self.send(
            text_data=json.dumps({"type": "hello", "version": version, "staff": self.staff})
        )


def _is_staff(scope: dict[str, Any]) -> bool:
    user = scope.get("user")
    return bool(user is not None and user.is_authenticated and user.is_staff)
