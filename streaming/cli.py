"""``run(app)``: the ``python -m <service> worker`` entry point of every worker."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NoReturn

import faust

from config.env import load
from streaming.app import web_port_from_env
from streaming.internal_topics import ensure_internal_topics


def run(app: faust.App, argv: Sequence[str] | None = None) -> NoReturn:
    """Run Faust's command line for ``app`` (``worker``, ``agents``, ``tables``, ...).

    For ``worker``, two defaults differ from Faust's, each unless the command line
    says otherwise: the log level is INFO (Faust's WARN hides partition assignment
    and recovery), and the web server runs only when ``FAUST_WEB_PORT`` is set, like
    ``create_app`` configures it (Faust's command line would start it on port 6066
    always, so a second worker on the same machine would collide). Before a worker
    starts, its table changelogs are created (``streaming.internal_topics``).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if "worker" in args:
        if not any(a in ("-l", "--loglevel") or a.startswith("--loglevel=") for a in args):
            args += ["--loglevel", "info"]
        if not any(a in ("--with-web", "--without-web") for a in args):
            args.append("--without-web" if web_port_from_env() is None else "--with-web")
        ensure_internal_topics(app, load().kafka_bootstrap_servers)
    sys.argv = [sys.argv[0], *args]
    app.main()
