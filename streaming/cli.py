"""``run(app)``: the ``python -m <service> worker`` entry point of every worker."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

import faust
from faust.exceptions import AlreadyConfiguredWarning

from config import event_loop
from streaming.app import event_loop_of
from streaming.internal_topics import ensure_internal_topics
from streaming.startup import wait_for_kafka


def run(app: faust.App, argv: Sequence[str] | None = None) -> NoReturn:
    """Run Faust's command line for ``app`` (``worker``, ``agents``, ``tables``, ...).

    For ``worker``, two defaults differ from Faust's, each unless the command line
    says otherwise: the log level is INFO (Faust's WARN hides partition assignment
    and recovery), and the web server runs only when ``create_app`` enabled it (the worker's
    ``FAUST_WEB_PORT``) (Faust's command line would start it on port 6066
    always, so a second worker on the same machine would collide). Before a worker
    starts, it waits until the brokers answer (``streaming.startup``: a worker started
    while Kafka is down waits, saying so, instead of exiting) and its table changelogs
    are created (``streaming.internal_topics``). The process runs on the event loop
    ``create_app`` was configured with (``EVENT_LOOP``: uvloop unless set to ``asyncio``;
    ``config.event_loop``), the consumer's thread included.
    """
    event_loop.install(event_loop_of(app))
    args = list(sys.argv[1:] if argv is None else argv)
    if "worker" in args:
        if not any(a in ("-l", "--loglevel") or a.startswith("--loglevel=") for a in args):
            args += ["--loglevel", "info"]
        if not any(a in ("--with-web", "--without-web") for a in args):
            args.append("--with-web" if app.conf.web_enabled else "--without-web")
        bootstrap = bootstrap_servers(app)
        wait_for_kafka(bootstrap, lambda: ensure_internal_topics(app, bootstrap))
    sys.argv = [sys.argv[0], *args]
    # Faust's worker command assigns ``web_enabled`` from --with-web/--without-web, which
    # repeat what ``create_app`` configured: no late reconfiguration, only a 12-line
    # warning at every start.
    warnings.filterwarnings("ignore", message=".*'web_enabled'", category=AlreadyConfiguredWarning)
    app.main()


def bootstrap_servers(app: faust.App) -> str:
    """The ``host:port`` list of the brokers ``app`` was configured with."""
    return ",".join(f"{url.host}:{url.port or 9092}" for url in app.conf.broker)
