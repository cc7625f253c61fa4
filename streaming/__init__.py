"""Faust wiring shared by every worker: app factory, topic binding, publishing, the per-event guard.

A worker is built in three moves, each in one module::

    app = create_app("payment", settings)          # streaming.app
    orders = bind(app, contracts.topics.ORDERS)     # streaming.topics
    guard = EventGuard("authorize_payments", {OrderPlaced: handle})   # streaming.guard

and its agent is ``async for outcome in guard.process(stream): yield outcome``; handlers
send with ``publisher(topic)`` (streaming.publish). ``run(app)`` (streaming.cli) is the
``python -m <service> worker`` entry point. Nothing here knows about any one service.
"""

from streaming.app import create_app
from streaming.cli import run
from streaming.failures import FailureHandling, contained, failure_handling
from streaming.guard import EventGuard, Origin, Outcome
from streaming.publish import Publish, publisher
from streaming.topics import bind, current_partition, on_reassignment

__all__ = [
    "EventGuard",
    "FailureHandling",
    "Origin",
    "Outcome",
    "Publish",
    "bind",
    "contained",
    "create_app",
    "current_partition",
    "failure_handling",
    "on_reassignment",
    "publisher",
    "run",
]
