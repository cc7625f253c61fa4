"""``create_app``: the payment worker's Faust app."""

from __future__ import annotations

from typing import Any

import faust

from payment.agent import Clock, install
from payment.settings import PaymentSettings, load
from streaming import Publish
from streaming import create_app as create_streaming_app


def create_app(
    settings: PaymentSettings | None = None,
    *,
    publish: Publish | None = None,
    clock: Clock | None = None,
    **overrides: Any,
) -> faust.App:
    """A new payment app (group ``settings.group``) with its ledger and agent installed.

    ``publish`` replaces the ``payments.v1`` producer and ``clock`` the wall clock
    (tests); ``overrides`` go to Faust.
    """
    settings = settings or load()
    app = create_streaming_app(settings.group, settings.platform, **overrides)
    install(app, settings, publish=publish, clock=clock)
    return app
