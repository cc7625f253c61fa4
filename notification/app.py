"""``create_app``: the notification worker's Faust app."""

from __future__ import annotations

from typing import Any

import faust

from notification.agent import Clock, install
from notification.senders import Sender
from notification.settings import NotificationSettings, load
from streaming import Publish
from streaming import create_app as create_streaming_app
from streaming import route_failures as failure_handling


def create_app(
    settings: NotificationSettings | None = None,
    *,
    sender: Sender | None = None,
    publish: Publish | None = None,
    clock: Clock | None = None,
    route_failures: bool = True,
    **overrides: Any,
) -> faust.App:
    """A new notification app (group ``settings.group``) with its table and agent installed.

    ``sender`` replaces the one the settings choose, ``publish`` the ``notifications.v1``
    producer and ``clock`` the wall clock (tests); ``overrides`` go to Faust.
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
        sender=sender or settings.make_sender(),
        publish=publish,
        clock=clock,
    )
    return app
