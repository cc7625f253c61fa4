"""``create_app``: the analytics worker's Faust app."""

from __future__ import annotations

from typing import Any

import faust

from analytics.agent import Clock, Owned, install
from analytics.settings import AnalyticsSettings, load
from streaming import Publish
from streaming import create_app as create_streaming_app
from streaming import route_failures as failure_handling


def create_app(
    settings: AnalyticsSettings | None = None,
    *,
    publish_share: Publish | None = None,
    publish_snapshot: Publish | None = None,
    owned: Owned | None = None,
    clock: Clock | None = None,
    route_failures: bool = True,
    **overrides: Any,
) -> faust.App:
    """A new analytics app (group ``settings.group``) with its tables, agents and timers.

    ``publish_share``, ``publish_snapshot``, ``owned`` and ``clock`` replace the two
    producers, the partition assignment and the wall clock (tests); ``overrides`` go
    to Faust. ``route_failures=False`` sends failures nowhere (logged and counted
    only: unit tests without a broker say so).
    """
    settings = settings or load()
    app = create_streaming_app(
        settings.group, settings.platform, settings.streaming, observer=True, **overrides
    )
    failures = (
        failure_handling(app, settings.platform, settings.streaming) if route_failures else None
    )
    install(
        app,
        settings,
        failures=failures,
        publish_share=publish_share,
        publish_snapshot=publish_snapshot,
        owned=owned,
        clock=clock,
    )
    return app
