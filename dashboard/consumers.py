"""The dashboard's WebSocket: a read-only feed of changes and the monitor's status.

On connect (and whenever the browser asks to ``sync``) it says ``hello`` with the
current change version; the browser then loads its snapshot over REST and applies
every later change in order. Nothing a browser sends can change anything.

A staff session's socket gets what is sent to ``STAFF_GROUP`` (changes with every field),
any other socket what is sent to ``PUBLIC_GROUP`` (changes without personal fields:
``gateway.orders.presenters``); both get ``GROUP`` (the monitor's status). The sockets do
not join the groups themselves: ``Fanout`` subscribes once per process (two channels,
staff and public) and hands each message, JSON-encoded once, to every socket of its
audience, so a message costs one channel-layer delivery per process, not per socket
(``benchmarks/dashboard_bench.py``).

What a browser sends is untrusted: a frame that is not a JSON object of a known
``type`` (binary, not JSON, another shape) is ignored, never raised. ``sync`` costs a
Redis read, so each socket gets ``SYNC_BURST`` at once and then one per
``SYNC_INTERVAL_S``; a sync asked for sooner is answered when its turn comes (several
such requests are answered once), so a browser that lost a change still resyncs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import weakref
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
#: The groups of each audience.
AUDIENCES = {"staff": (GROUP, STAFF_GROUP), "public": (GROUP, PUBLIC_GROUP)}
#: ``Fanout`` joins its groups again this often, and after a failed receive: the channel
#: layer forgets a member after its ``group_expiry`` (a day by default) and a restarted
#: Redis forgets them all; a socket used to rejoin by reconnecting, the process's one
#: subscription has to itself.
REJOIN_S = 30.0


class Fanout:
    """One subscription of this process (its event loop) to the dashboard's groups, for
    all its sockets: a channel per audience; each ``dashboard.push`` received is encoded
    once and sent to every socket of that audience, in the order received."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.sockets: dict[str, set[Any]] = {a: set() for a in AUDIENCES}
        self.channels: dict[str, str] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.lock = asyncio.Lock()

    async def join(self, socket: Any, audience: str) -> None:
        """Deliver to ``socket`` from now on (subscribed before this returns)."""
        async with self.lock:
            if not self.tasks:  # the first socket, or the first one since a failed join
                if not self.channels:
                    self.channels = {a: await self.layer.new_channel() for a in AUDIENCES}
                await self._add_groups()  # raises: this socket fails, the next one retries
                self.tasks = [asyncio.create_task(self._deliver(a)) for a in AUDIENCES]
                self.tasks.append(asyncio.create_task(self._rejoin()))
        self.sockets[audience].add(socket)

    def leave(self, socket: Any) -> None:
        for members in self.sockets.values():
            members.discard(socket)

    async def _add_groups(self) -> None:
        for audience, groups in AUDIENCES.items():
            for group in groups:
                await self.layer.group_add(group, self.channels[audience])

    async def _rejoin(self) -> None:
        while True:
            await asyncio.sleep(REJOIN_S)
            try:
                await self._add_groups()
            except Exception as exc:
                log.warning(
                    "dashboard: could not rejoin the groups: %s: %s", type(exc).__name__, exc
                )

    async def _deliver(self, audience: str) -> None:
        channel = self.channels[audience]
        while True:
            try:
                event = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the channel layer's Redis restarting: try again
                log.warning(
                    "dashboard: channel layer receive failed: %s: %s", type(exc).__name__, exc
                )
                await asyncio.sleep(1.0)
                with contextlib.suppress(Exception):
                    await self._add_groups()
                continue
            if event.get("type") != "dashboard.push":
                continue
            text = json.dumps(event["message"])
            for socket in list(self.sockets[audience]):
                try:
                    await socket.send(text_data=text)
                except Exception:  # closed meanwhile: its disconnect removes it
                    log.debug("dashboard: a push was not sent", exc_info=True)


#: One ``Fanout`` per event loop (daphne has one; tests make one per test).
_FANOUTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Fanout] = weakref.WeakKeyDictionary()


def fanout(layer: Any) -> Fanout:
    """This event loop's ``Fanout`` on ``layer`` (a new one if the layer changed)."""
    loop = asyncio.get_running_loop()
    current = _FANOUTS.get(loop)
    if current is None or current.layer is not layer:
        if current is not None:
            for task in current.tasks:
                task.cancel()
        current = _FANOUTS[loop] = Fanout(layer)
    return current


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
        self.budget = SyncBudget()
        self.pending: asyncio.Task[None] | None = None
        await self.accept()
        # Subscribed before the version is read: no change falls between the two.
        self.fanout = fanout(self.channel_layer)
        await self.fanout.join(self, "staff" if self.staff else "public")
        await self._hello()

    async def disconnect(self, code: int) -> None:
        if getattr(self, "pending", None) is not None:
            self.pending.cancel()  # type: ignore[union-attr]
        if getattr(self, "fanout", None) is not None:
            self.fanout.leave(self)

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

    async def _hello(self) -> None:
        version = await self.versions.current()
        await self.send(
            text_data=json.dumps({"type": "hello", "version": version, "staff": self.staff})
        )


def _is_staff(scope: dict[str, Any]) -> bool:
    user = scope.get("user")
    return bool(user is not None and user.is_authenticated and user.is_staff)
