"""Storing dead letters read from the DLQ topic: one row each, redelivery adds nothing."""

from __future__ import annotations

import pytest

from contracts.testing import dead_letter
from gateway.consumed import Seen
from gateway.operations.ingest import dead_letters_store
from gateway.operations.models import DeadLetterRecord
from gateway.operations.selectors import dead_letter_event

pytestmark = pytest.mark.django_db


def test_dead_letters_are_stored_once_with_their_bytes() -> None:
    letter = dead_letter()
    batch = [Seen("orders.dlq.v1", 2, 10, letter)]

    assert dead_letters_store(batch) == 1
    assert dead_letters_store(batch) == 0

    row = DeadLetterRecord.objects.get()
    assert (row.dlq_partition, row.dlq_offset, row.status) == (2, 10, "pending")
    assert (row.original_topic, row.consumer_group, row.error_type, row.attempts) == (
        "orders.v1",
        "payment",
        "TimeoutError",
        4,
    )
    assert dead_letter_event(row) == letter
