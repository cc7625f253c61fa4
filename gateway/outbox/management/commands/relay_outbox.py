"""`manage.py relay_outbox`: publish the outbox to Kafka until stopped."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from gateway.outbox.relay import OutboxRelay, RelayConfig
from gateway.service_loop import run_until_signalled


class Command(BaseCommand):
    help = "Publish committed outbox rows to Kafka (at least once), marking them sent."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        relay = OutboxRelay(
            RelayConfig(
                bootstrap=settings.PLATFORM.bootstrap_list, batch_size=options["batch_size"]
            )
        )
        self.stdout.write(
            f"relay: publishing outbox to {settings.PLATFORM.kafka_bootstrap_servers}"
        )
        run_until_signalled(relay.run)
        self.stdout.write(f"relay: stopped after publishing {relay.published} events")
