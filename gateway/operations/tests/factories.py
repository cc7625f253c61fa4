"""Dead letters for tests: events, and rows as the projector would store them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts import Attempt, DeadLetter
from gateway.consumed import Seen
from gateway.operations.ingest import dead_letters_store
from gateway.operations.models import DeadLetterRecord

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

_offsets = iter(range(10**6))


def dead_letter(**overrides: Any) -> DeadLetter:
    fields: dict[str, Any] = {
        "correlation_id": "o-1",
        "original_topic": "orders.v1",
        "partition": 3,
        "offset": 41,
        "key": b"o-1",
        "value": b'{"type": "order.placed.v1", "order_id": "o-1"}',
        "headers": (("traceparent", b"00-abc-01"),),
        "consumer_group": "payment",
        "error_type": "TimeoutError",
        "error_message": "bank did not answer",
        "error_stack": "Traceback ...",
        "failed_at": T0,
        "attempts": 4,
        "history": tuple(
            Attempt(
                at=T0 - timedelta(seconds=21 - i),
                topic=t,
                error_type="TimeoutError",
                error_message="bank did not answer",
            )
            for i, t in enumerate(["orders.v1", "orders.retry.1s.v1", "orders.retry.4s.v1"])
        ),
    }
    fields.update(overrides)
    fields.setdefault("event_id", uuid.uuid4())
    return DeadLetter(**fields)


def stored(**overrides: Any) -> DeadLetterRecord:
    letter = dead_letter(**overrides)
    dead_letters_store([Seen("orders.dlq.v1", 0, next(_offsets), letter)])
    return DeadLetterRecord.objects.get(event_id=letter.event_id)
