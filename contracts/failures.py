"""What failure handling puts on the wire besides events: retry, dead-letter and redrive
headers, and the failure-injection settings an operator changes at runtime.

One copy for every producer and consumer of these records (the workers' guard, the
gateway's projector and DLQ tools, the CLI). Imports neither Faust nor Django.
``RetryState`` is where a message stands in its failure history; ``dead_letter``
builds the ``DeadLetter`` it ends in.

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
``dlq.attempts``. A dead letter always fits in a Kafka record: an original value or key
beyond ``VALUE_MAX``/``KEY_MAX`` is kept as its first bytes, original headers up to
``HEADERS_MAX`` bytes, the last ``HISTORY_MAX`` attempts; what was cut is described
(SHA-256 and length of the whole) by the ``dlq.truncated`` header among its headers.

A redrive sends the original key, value and headers back to the original topic, with
``redrive.group`` (only that group processes it: the others had handled the message),
``redrive.id`` (the dead letter's event id) and ``failure.history``.
"""

from __future__ import annotations

import hashlib
import re
import traceback
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.events import Attempt, DeadLetter

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
DLQ_TRUNCATED = "dlq.truncated"

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
        DLQ_TRUNCATED,
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


#: Longest ``failure.history`` header read; a longer one counts as none.
HISTORY_MAX_BYTES = 256 * 1024


def decode_history(data: bytes | None) -> tuple[Attempt, ...]:
    """The attempts in a ``failure.history`` header; an unreadable one counts as none
    (the header is informative: losing it must not lose the message). Unreadable
    includes hostile: longer than ``HISTORY_MAX_BYTES`` or nested deeper than msgspec
    recurses (``RecursionError``)."""
    if not data or len(data) > HISTORY_MAX_BYTES:
        return ()
    try:
        return _history_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return ()


# -- failure history and dead letters ----------------------------------------------

_DLQ_NS = uuid.UUID("0d6c3f0e-7a51-4a47-b1a4-2f8f3b9d6e21")
_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")
#: Longest error message, stack and error type kept (``DeadLetter``'s limits).
_TEXT_MAX = 2_000
_STACK_MAX = 20_000
_TYPE_MAX = 200
#: What a dead letter keeps of the original record, so that it always fits in one Kafka
#: record (1 MiB by default; bytes are base64 on the wire, 4/3 of their size): about
#: 350 KiB of value, 90 KiB of headers, 50 KiB of history, 22 KiB of error at most.
VALUE_MAX = 256 * 1024
KEY_MAX = 1024
HEADERS_MAX = 64 * 1024
HISTORY_MAX = 20


@dataclass(frozen=True)
class RetryState:
    """Where a message stands in its failure history (a retry record's headers)."""

    origin_topic: str
    origin_partition: int
    origin_offset: int
    #: Failed attempts so far.
    attempts: int = 0
    due_at_ms: int = 0
    group: str = ""
    agent: str = ""
    history: tuple[Attempt, ...] = field(default=())

    @classmethod
    def first(cls, topic: str, partition: int, offset: int, headers: Headers) -> RetryState:
        """A message read from a normal topic: its first attempt. A redriven record
        brings the history of its earlier life."""
        return cls(topic, partition, offset, history=decode_history(header(headers, HISTORY)))

    @classmethod
    def from_headers(cls, headers: Headers) -> RetryState | None:
        """The state a retry record carries, or None when its headers are not ours."""
        try:
            topic = _text(headers, ORIGIN_TOPIC)
            return cls(
                origin_topic=topic,
                origin_partition=int(_text(headers, ORIGIN_PARTITION)),
                origin_offset=int(_text(headers, ORIGIN_OFFSET)),
                attempts=int(_text(headers, RETRY_ATTEMPT)),
                due_at_ms=int(_text(headers, RETRY_DUE_AT)),
                group=_text(headers, RETRY_GROUP),
                agent=_text(headers, RETRY_AGENT),
                history=decode_history(header(headers, HISTORY)),
            )
        except (KeyError, ValueError):
            return None

    def failed(self, at: datetime, topic: str, exc: BaseException) -> RetryState:
        """This state after one more failed attempt, read from ``topic``."""
        attempt = Attempt(
            at=at, topic=topic, error_type=_error_type(exc), error_message=_message(exc)
        )
        return RetryState(
            self.origin_topic,
            self.origin_partition,
            self.origin_offset,
            attempts=self.attempts + 1,
            due_at_ms=self.due_at_ms,
            group=self.group,
            agent=self.agent,
            history=(*self.history, attempt),
        )

    def headers(self, original: Headers, *, group: str, agent: str, due_at_ms: int) -> Headers:
        """The headers of the retry record that schedules the next attempt."""
        return [
            *original_headers(original),
            (RETRY_GROUP, group.encode()),
            (RETRY_AGENT, agent.encode()),
            (RETRY_ATTEMPT, str(self.attempts).encode()),
            (RETRY_DUE_AT, str(due_at_ms).encode()),
            (ORIGIN_TOPIC, self.origin_topic.encode()),
            (ORIGIN_PARTITION, str(self.origin_partition).encode()),
            (ORIGIN_OFFSET, str(self.origin_offset).encode()),
            (HISTORY, encode_history(self.history)),
        ]


def dead_letter(
    state: RetryState,
    *,
    key: bytes | None,
    value: bytes,
    headers: Headers,
    group: str,
    exc: BaseException,
    at: datetime,
) -> DeadLetter:
    """The DLQ record of a message whose attempts (``state``, the last one included)
    are over: original bytes and headers, origin, group, error and history.

    Its id derives from the group and the origin, so a worker that dead-letters the
    same message again after a crash writes the same record (the gateway keeps one).
    Its correlation id is the original key when that is a valid id (an order id).
    """
    origin = f"{group}/{state.origin_topic}/{state.origin_partition}/{state.origin_offset}"
    cut: dict[str, object] = {}
    kept_value = _capped("value", value, VALUE_MAX, cut)
    kept_key = None if key is None else _capped("key", key, KEY_MAX, cut)
    kept_headers: Headers = []
    size = 0
    for name, data in original_headers(headers):
        size += len(name.encode(errors="replace")) + len(data)
        if size > HEADERS_MAX:
            cut["headers"] = {"dropped": len(original_headers(headers)) - len(kept_headers)}
            break
        kept_headers.append((name, data))
    if len(state.history) > HISTORY_MAX:
        cut["history"] = {"dropped": len(state.history) - HISTORY_MAX}
    if cut:
        kept_headers.append((DLQ_TRUNCATED, _history_encoder.encode(cut)))
    return DeadLetter(
        event_id=uuid.uuid5(_DLQ_NS, f"{origin}/{len(state.history)}"),
        occurred_at=at,
        correlation_id=key_order_id(key) or "dead-letter",
        original_topic=state.origin_topic,
        partition=state.origin_partition,
        offset=state.origin_offset,
        key=kept_key,
        value=kept_value,
        headers=tuple(kept_headers),
        consumer_group=group,
        error_type=_error_type(exc),
        error_message=_message(exc),
        error_stack=_stack(exc),
        failed_at=at,
        attempts=max(1, state.attempts),
        history=state.history[-HISTORY_MAX:],
    )


def _capped(name: str, data: bytes, limit: int, cut: dict[str, object]) -> bytes:
    """``data``, or its first ``limit`` bytes, the whole described in ``cut``."""
    if len(data) <= limit:
        return data
    cut[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    return data[:limit]


def dead_letter_headers(record: DeadLetter) -> Headers:
    """What a DLQ consumer can route on without decoding the record."""
    return [
        (DLQ_GROUP, record.consumer_group.encode()),
        (DLQ_ORIGINAL_TOPIC, record.original_topic.encode()),
        (DLQ_ERROR_TYPE, record.error_type.encode()),
        (DLQ_ATTEMPTS, str(record.attempts).encode()),
    ]


def _text(headers: Headers, name: str) -> str:
    value = header(headers, name)
    if value is None:
        raise KeyError(name)
    return value.decode()


def _error_type(exc: BaseException) -> str:
    kind = type(exc)
    name = (
        kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    )
    return _no_nul(name)[:_TYPE_MAX]


def _message(exc: BaseException) -> str:
    text = str(exc) or repr(exc)
    return _no_nul(text)[:_TEXT_MAX]


def _stack(exc: BaseException) -> str:
    stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return _no_nul(stack)[-_STACK_MAX:]


def _no_nul(text: str) -> str:
    """``text`` without NUL characters (an error may quote the bad value that had one;
    the contract rejects NUL in text, so a dead letter keeping it would be unreadable)."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def key_order_id(key: bytes | None) -> str | None:
    """The order id a record's key names (keys are order ids), or None for any other key."""
    try:
        text = (key or b"").decode()
    except UnicodeDecodeError:
        return None
    return text if _IDENT.match(text) else None


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
