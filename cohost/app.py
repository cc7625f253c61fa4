"""``create_app``: one Faust app running the agents of several services (a co-hosted
worker, ``sagactl run --cohost``).

Each service keeps its agent, tables, handlers and settings exactly as in its own worker
(``<service>.agent.install``); what they share is the app: one consumer group, one
consumer (a topic several agents read, such as ``orders.v1``, is fetched once and
delivered to each agent's stream), one producer, one set of retry tiers, one commit
watchdog, one process. That removes the per-process and per-group costs that dominate
at moderate rates: the workers' CPU per order halves (``benchmarks.cohost_bench``,
docs/performance.md "Co-hosted workers"). What it
changes: the services scale together (``--scale workers=2`` splits the partitions of
every agent between two processes), a fault setting or a kill hits every agent at once,
and the consumer groups view shows one group.
"""

from __future__ import annotations

from typing import Any

import faust

from cohost.settings import CohostSettings, load
from streaming import create_app as create_streaming_app
from streaming import route_failures


def create_app(settings: CohostSettings | None = None, **overrides: Any) -> faust.App:
    """A new co-hosted app (group ``settings.group``) with the agents of
    ``settings.services`` installed, each from its own service's settings."""
    settings = settings or load()
    app = create_streaming_app(settings.group, settings.platform, settings.streaming, **overrides)
    failures = route_failures(app, settings.platform, settings.streaming)
    if "payment" in settings.services:
        from payment import agent as payment_agent
        from payment.settings import load as payment_settings

        payment_agent.install(app, payment_settings(), failures=failures)
    if "inventory" in settings.services:
        from inventory import agent as inventory_agent
        from inventory.settings import load as inventory_settings

        inventory_agent.install(app, inventory_settings(), failures=failures)
    if "saga" in settings.services:
        from saga import agent as saga_agent
        from saga.settings import load as saga_settings

        saga_agent.install(app, saga_settings(), failures=failures)
    if "notification" in settings.services:
        from notification import agent as notification_agent
        from notification.settings import load as notification_settings

        notices = notification_settings()
        notification_agent.install(app, notices, failures=failures, sender=notices.make_sender())
    if "analytics" in settings.services:
        from analytics import agent as analytics_agent
        from analytics.settings import load as analytics_settings

        analytics_agent.install(app, analytics_settings(), failures=failures)
    return app
