"""Faust wiring shared by every worker: app factory, topic binding, publishing, the per-event guard.

A worker is built in four moves, each in one module::

    app = create_app("payment", settings.platform, settings.streaming)   # streaming.app
    failures = route_failures(app, settings.platform, settings.streaming)  # streaming.app
    orders = bind(app, contracts.topics.ORDERS)     # streaming.topics
    guard = EventGuard("authorize_payments", {OrderPlaced: handle}, failures=failures)

(``streaming.guard``) and its agent is ``async for d in guard.process(stream): yield d``;
handlers send with ``publisher(topic)`` (streaming.publish). A unit test without a
broker says ``failures=None``: failures are then logged and counted only. The worker's
streaming settings (retry tiers, faults, metrics, web port) are ``streaming.settings``;
its metrics ``streaming.metrics``; workarounds for bugs of Faust ``streaming.upstream``.
``run(app)`` (streaming.cli) is the ``python -m <service> worker`` entry point. Nothing
here knows about any one service.
"""

from streaming.app import create_app, route_failures
from streaming.cli import run
from streaming.disposition import Disposition
from streaming.failures import FailureHandling
from streaming.guard import EventGuard, FailureRoute, Origin
from streaming.publish import Publish, publisher
from streaming.settings import StreamingSettings
from streaming.topics import bind, current_partition, on_reassignment

__all__ = [
    "Disposition",
    "EventGuard",
    "FailureHandling",
    "FailureRoute",
    "Origin",
    "Publish",
    "StreamingSettings",
    "bind",
    "create_app",
    "current_partition",
    "on_reassignment",
    "publisher",
    "route_failures",
    "run",
]
