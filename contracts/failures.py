"""What failure handling puts on the wire besides events: retry, dead-letter and redrive
headers, and the failure-injection settings an operator changes at runtime.

One copy for every producer and consumer of these records (the workers' guard, the
gateway's DLQ tools, the CLI). Imports neither Faust nor Django.

Retry records (``orders.retry.{1s,4s,16s}.v1``) and redriven records keep the original
key, value and headers; what routing needs travels in headers, readable without
decoding the value:

- ``retry.group``: the consumer group that failed and alone processes the retry.
- ``retry.agent``: the agent (``EventGuard`` name) of that group that handles it.
- ``retry.attempt``: attempts made so far (``1`` after the first failure).
- ``retry.due-at``: when the next attempt is due, epoch milliseconds.
- ``origin.topic`` / ``origin.partition`` / ``origin.offset``: where the message was
  first read.
- ``failure.history``: JSON list of ``contracts.Attempt`` (oldest first).

Dead letters (``orders.dlq.v1``) are ``DeadLetter`` events, keyed by the original key,
with the headers ``dlq.group``, ``dlq.original-topic``, ``dlq.error-type`` and
``dlq.attempts``.

A redrive sends the original key, value and headers back to the original topic, with
``redrive.group`` (only that group processes it: the others had handled the message),
``redrive.id`` (the dead letter's event id) and ``failure.history``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.events import Attempt

RETRY_GROUP = "retry.group"
RETRY_AGENT = "retry.agent"
RETRY_ATTEMPT = "retry.attempt"
RETRY_DUE_AT = "retry.due-at"
ORIGIN_TOPIC = "origin.topic"
ORIGIN_PARTITION = "origin.partition"
ORIGIN_OFFSET = "origin.offset"
HISTORY = "failure.history"
DLQ_GROUP = "dlq.group"
DLQ_ORIGINAL_TOPIC = "dlq.original-topic"
DLQ_ERROR_TYPE = "dlq.error-type"
DLQ_ATTEMPTS = "dlq.attempts"
REDRIVE_GROUP = "redrive.group"
REDRIVE_ID = "redrive.id"

#: Headers this platform adds; a record sent on (retried, dead-lettered, redriven)
#: carries the original headers without these, plus its own.
PLATFORM_HEADERS = frozenset(
    {
        RETRY_GROUP,
        RETRY_AGENT,
        RETRY_ATTEMPT,
        RETRY_DUE_AT,
        ORIGIN_TOPIC,
        ORIGIN_PARTITION,
        ORIGIN_OFFSET,
        HISTORY,
        DLQ_GROUP,
        DLQ_ORIGINAL_TOPIC,
        DLQ_ERROR_TYPE,
        DLQ_ATTEMPTS,
        REDRIVE_GROUP,
        REDRIVE_ID,
    }
)

Headers = list[tuple[str, bytes]]

_history_encoder = msgspec.json.Encoder()
_history_decoder = msgspec.json.Decoder(tuple[Attempt, ...])


def header_list(headers: Mapping[str, bytes] | Iterable[tuple[str, bytes]] | None) -> Headers:
    """Headers as Kafka clients give them (a list of pairs, a mapping, or None) as a list."""
    if headers is None:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(str(k), bytes(v) if v is not None else b"") for k, v in items]


def header(headers: Headers, name: str) -> bytes | None:
    """The last value of header ``name``, or None."""
    found = None
    for key, value in headers:
        if key == name:
            found = value
    return found


def original_headers(headers: Headers) -> Headers:
    """``headers`` without the ones this platform adds."""
    return [(k, v) for k, v in headers if k not in PLATFORM_HEADERS]


def encode_history(history: Iterable[Attempt]) -> bytes:
    return _history_encoder.encode(tuple(history))


def decode_history(data: bytes | None) -> tuple[Attempt, ...]:
    """The attempts in a ``failure.history`` header; an unreadable one counts as none
    (the header is informative: losing it must not lose the message)."""
    if not data:
        return ()
    try:
        return _history_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ()


# -- failure injection -------------------------------------------------------------

#: Redis hash holding each service's runtime fault settings (field: service name,
#: value: ``FaultSettings`` JSON). Workers re-read it about every second.
FAULTS_KEY = "saga:faults"


class FaultSettings(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Faults injected into one service's event handling, for demos and tests.

    ``failure_rate``: the probability that an attempt fails with a transient error.
    ``latency_ms``: added before every attempt. ``fail_attempts``: every event's first
    N attempts fail (deterministic; 0 = off). All zero by default.
    """

    failure_rate: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.0
    latency_ms: Annotated[int, Meta(ge=0, le=60_000)] = 0
    fail_attempts: Annotated[int, Meta(ge=0, le=100)] = 0

    @property
    def active(self) -> bool:
        return bool(self.failure_rate or self.latency_ms or self.fail_attempts)


_faults_encoder = msgspec.json.Encoder()
_faults_decoder = msgspec.json.Decoder(FaultSettings)


def encode_faults(settings: FaultSettings) -> bytes:
    return _faults_encoder.encode(settings)


def decode_faults(data: bytes | str) -> FaultSettings:
    """Parse fault settings; raises ``msgspec.ValidationError``/``DecodeError`` naming
    the field when invalid."""
    return _faults_decoder.decode(data)
