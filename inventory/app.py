"""``create_app``: the inventory worker's Faust app."""

from __future__ import annotations

from typing import Any

import faust

from inventory.agent import install
from inventory.settings import InventorySettings, load
from inventory.store import Store
from streaming import Publish
from streaming import create_app as create_streaming_app
from streaming import route_failures as failure_handling


def create_app(
    settings: InventorySettings | None = None,
    *,
    store: Store | None = None,
    publish: Publish | None = None,
    route_failures: bool = True,
    **overrides: Any,
) -> faust.App:
    """A new inventory app (group ``settings.group``) with its agent installed.

    ``store`` replaces the Redis store and ``publish`` the producers of ``inventory.v1``
    and ``inventory.stock.v1`` (tests); ``overrides`` go to Faust.
    """
    settings = settings or load()
    app = create_streaming_app(settings.group, settings.platform, settings.streaming, **overrides)
    failures = (
        failure_handling(app, settings.platform, settings.streaming) if route_failures else None
    )
    install(app, settings, failures=failures, store=store, publish=publish)
    return app
