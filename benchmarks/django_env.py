"""Django set up in a benchmark process that drives the gateway's code in process."""

from __future__ import annotations

import argparse
import os


def setup(parser: argparse.ArgumentParser) -> None:
    """Fail through ``parser`` unless the stack's PostgreSQL and Redis are configured (the
    benchmark runs under `sagactl stack -- ...`), then set Django up on the gateway's
    settings."""
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not os.environ.get(name):
            parser.error(f"{name} is not set: run it under `sagactl stack -- ...`")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")
    import django

    django.setup()
