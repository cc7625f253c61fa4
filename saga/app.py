"""``create_app``: the saga worker's Faust app."""

from __future__ import annotations

from typing import Any

import faust

from saga.agent import Clock, Flush, install
from saga.settings import SagaSettings, load
from streaming import Publish
from streaming import create_app as create_streaming_app
from streaming import route_failures as failure_handling


def create_app(
    settings: SagaSettings | None = None,
    *,
    publish: Publish | None = None,
    flush: Flush | None = None,
    clock: Clock | None = None,
    route_failures: bool = True,
    **overrides: Any,
) -> faust.App:
    """A new saga app (group ``settings.group``) with its table, agent and tick timer.

    Every worker publishes the deadline ticks of the partitions it owns, when one of its
    orders is due (``saga.agent.install``): no leader election, like the other workers.
    ``publish``, ``flush`` and ``clock`` replace the
    outcome producer, the producer flush and the wall clock (tests); ``overrides`` go
    to Faust. ``route_failures=False`` sends failures nowhere (logged and counted
    only: unit tests without a broker say so).
    """
    settings = settings or load()
    app = create_streaming_app(settings.group, settings.platform, settings.streaming, **overrides)
    failures = (
        failure_handling(app, settings.platform, settings.streaming) if route_failures else None
    )
    install(app, settings, failures=failures, publish=publish, flush=flush, clock=clock)
    return app
