"""`manage.py wipe_read_model`: reset the projected order fields and delete timelines, the
catalog and analytics windows (stop the projector and rewind its group first)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from gateway.projector.rebuild import read_model_wipe


class Command(BaseCommand):
    help = (
        "Wipe the read model for a rebuild: orders back to PENDING with nothing projected, "
        "timelines, catalog and analytics windows deleted. Stop the projector first."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = read_model_wipe()
        self.stdout.write(
            "read model wiped: "
            + ", ".join(f"{n} {what}" for what, n in counts.items())
            + " (orders reset, the rest deleted)"
        )
