"""``create_app``: the payment worker's Faust app."""

from __future__ import annotations

from typing import Any

import faust

from payment.agent import Clock, install
from payment.settings import PaymentSettings, load
from streaming import Publish
from streaming import create_app as create_streaming_app
from streaming import route_failures as failure_handling


def create_app(
    settings: PaymentSettings | None = None,
    *,
    publish: Publish | None = None,
    clock: Clock | None = None,
    route_failures: bool = True,
    **overrides: Any,
) -> faust.App:
    """A new payment app (group ``settings.group``) with its ledger and agent installed.

    ``publish`` replaces the ``payments.v1`` producer and ``clock`` the wall clock
    (tests); ``route_failures=False`` sends failures nowhere (they are logged and
    counted only: unit tests without a broker say so); ``overrides`` go to Faust.
    """
    settings = settings or load()
    app = create_streaming_app(settings.group, settings.platform, settings.streaming, **overrides)
    failures = (
        failure_handling(app, settings.platform, settings.streaming) if route_failures else None
    )
    install(app, settings, failures=failures, publish=publish, clock=clock)
    return app
