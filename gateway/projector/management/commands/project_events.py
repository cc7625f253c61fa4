"""`manage.py project_events`: fold the saga's events into the read model until stopped."""

from __future__ import annotations

import asyncio
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from gateway.projector import projector
from gateway.service_loop import run_until_signalled


class Command(BaseCommand):
    help = "Consume the saga topics and fold every event into the orders read model."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--group", default=projector.GROUP, help="consumer group id")

    def handle(self, *args: Any, **options: Any) -> None:
        bootstrap = settings.PLATFORM.bootstrap_list
        wait = settings.PLATFORM.observer_fetch_wait_ms

        async def main(stop: asyncio.Event) -> None:
            await projector.run(bootstrap, stop, group=options["group"], fetch_wait_ms=wait)

        run_until_signalled(main)
