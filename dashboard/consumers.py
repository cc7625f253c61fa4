"""The dashboard's WebSocket: a read-only feed of changes and the monitor's status.

On connect (and whenever the browser asks to ``sync``) it says ``hello`` with the
current change version; the browser then loads its snapshot over REST and applies
every later change in order. Nothing a browser sends can change anything.
"""

from __future__ import annotations

import logging
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from gateway.projector.changes import GROUP
from gateway.projector.versions import Versions, versions_from_settings

log = logging.getLogger("dashboard.consumers")


class DashboardConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    #: Replaced in tests; the Redis counter otherwise.
    versions_factory = staticmethod(versions_from_settings)

    async def connect(self) -> None:
        self.versions: Versions = self.versions_factory()
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()
        await self._hello()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "sync":
            await self._hello()

    async def dashboard_push(self, event: dict[str, Any]) -> None:
        """``dashboard.push``: a change (versioned) or a status (carries the version)."""
        await self.send_json(event["message"])

    async def _hello(self) -> None:
        user = self.scope.get("user")
        staff = bool(user is not None and user.is_authenticated and user.is_staff)
        await self.send_json(
            {"type": "hello", "version": await self.versions.current(), "staff": staff}
        )
