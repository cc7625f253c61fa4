"""Dead letters for tests: rows as the projector would store them (the events are
``contracts.testing.dead_letter``)."""

from __future__ import annotations

from typing import Any

from contracts.testing import DEAD_AT, dead_letter
from gateway.consumed import Seen
from gateway.operations.ingest import dead_letters_store
from gateway.operations.models import DeadLetterRecord

T0 = DEAD_AT

_offsets = iter(range(10**6))


def stored(**overrides: Any) -> DeadLetterRecord:
    letter = dead_letter(**overrides)
    dead_letters_store([Seen("orders.dlq.v1", 0, next(_offsets), letter)])
    return DeadLetterRecord.objects.get(event_id=letter.event_id)
