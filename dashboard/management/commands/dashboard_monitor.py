"""`manage.py dashboard_monitor`: push consumer groups and health to the dashboard until
stopped."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from dashboard.monitor import INTERVAL_S, Monitor
from gateway.projector.versions import versions_from_settings
from gateway.service_loop import run_until_signalled


class Command(BaseCommand):
    help = "Poll consumer groups and health; push them to the dashboard's browsers."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, default=INTERVAL_S, help="seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        platform = settings.PLATFORM
        monitor = Monitor(
            platform.bootstrap_list,
            platform.redis_url,
            versions_from_settings(),
            gateway_url=os.environ.get("GATEWAY_URL", ""),
        )

        async def main(stop: asyncio.Event) -> None:
            await monitor.run(stop, options["interval"])

        run_until_signalled(main)
