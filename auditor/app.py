"""``create_app``: the auditor's Faust app."""

from __future__ import annotations

from typing import Any

import faust

from auditor.agent import Clock, install
from auditor.settings import AuditorSettings, load
from streaming import Publish
from streaming import create_app as create_streaming_app
from streaming import route_failures as failure_handling


def create_app(
    settings: AuditorSettings | None = None,
    *,
    publish: Publish | None = None,
    clock: Clock | None = None,
    route_failures: bool = True,
    **overrides: Any,
) -> faust.App:
    """A new auditor app (group ``settings.group``) with its table, agent and timer.

    ``publish`` replaces the ``audit.v1`` producer and ``clock`` the wall clock (tests);
    ``overrides`` go to Faust.
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
        metrics=None if failures is None else failures.metrics,
        publish=publish,
        clock=clock,
    )
    return app
