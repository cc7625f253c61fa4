"""Coalesced fetches: a consumer off the saga's critical path lets the broker gather its
records for a while before answering, and so wakes a few times a second instead of once
per event.

A fetch is answered when ``fetch_min_bytes`` are there or ``fetch_max_wait_ms`` passed,
whichever comes first (Kafka's own rule; aiokafka's defaults are 1 byte and 500 ms, so a
fetch returns as soon as one record arrives). ``coalesced(wait_ms)`` asks for more bytes
than a few seconds of the saga write, so the answer comes after ``wait_ms``, with
everything that arrived meanwhile, unless the reader is behind (then at once, full).

The cost is latency: up to ``wait_ms`` more before the reader sees an event. The
platform spends it only where nobody waits on the reader (``OBSERVER_FETCH_WAIT_MS``:
the projector, notification, analytics and the auditor), never on the saga's own hops.
"""

from __future__ import annotations

from typing import Any

#: Bytes a coalesced fetch waits for: about 2,000 events of the saga's size, more than
#: ``wait_ms`` of them at the rates the platform reaches, so the wait ends the fetch.
MIN_BYTES = 1 << 20


def coalesced(wait_ms: int) -> dict[str, int]:
    """aiokafka consumer arguments for fetches answered every ``wait_ms`` (0: as soon as
    one record is there, aiokafka's own behaviour)."""
    if wait_ms < 0:
        raise ValueError(f"wait_ms must be 0 or more, not {wait_ms}")
    if wait_ms == 0:
        return {"fetch_min_bytes": 1}
    return {"fetch_min_bytes": MIN_BYTES, "fetch_max_wait_ms": wait_ms}


def apply(consumer: Any, wait_ms: int) -> None:
    """Make a created, not yet started ``AIOKafkaConsumer`` fetch as ``coalesced(wait_ms)``
    says (for consumers a library creates, as Faust's consumer thread does)."""
    for name, value in coalesced(wait_ms).items():
        attribute = f"_{name}"
        if not hasattr(consumer, attribute):
            raise RuntimeError(
                f"kafka_admin.fetch: aiokafka's consumer has no {attribute} any more; "
                "check how this aiokafka version takes its fetch settings"
            )
        setattr(consumer, attribute, value)
