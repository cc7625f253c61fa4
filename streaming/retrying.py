"""What to do with a message whose processing failed: pure decisions, no Kafka.

- ``classify``: a transient failure (a dependency timing out or unreachable) is worth
  another attempt later; anything else (undecodable or invalid input, a business
  rule the data breaks, a bug) fails the same way every time and goes to the
  dead-letter queue at once, where an operator can inspect it and redrive it once
  the cause is fixed.
- ``RetryPolicy``: the backoff tiers (default 1 s, 4 s, 16 s: one retry topic each),
  with jitter; after the last tier, the dead-letter queue.
- ``RetryState``: what a retry record's headers say (see ``contracts.failures``).
- ``dead_letter``: the ``DeadLetter`` record for a message that failed for good.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from contracts import Attempt, ContractError, DeadLetter
from contracts import failures as wire
from contracts.failures import Headers, header
from contracts.topics import RETRY_TIERS

#: Default delay of each retry tier, seconds (the tier topics are named after them).
DEFAULT_DELAYS: tuple[float, ...] = (1.0, 4.0, 16.0)
#: Each delay is drawn uniformly within ±this fraction of its tier's delay.
DEFAULT_JITTER = 0.1
_DLQ_NS = uuid.UUID("0d6c3f0e-7a51-4a47-b1a4-2f8f3b9d6e21")
_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")

#: ``RETRY_DELAYS``: comma-separated seconds, one per tier (at most one per tier topic).
DELAYS_ENV = "RETRY_DELAYS"


class TransientError(Exception):
    """A failure worth retrying: raise it (or a subclass) from a handler whose
    dependency timed out or was unreachable."""


class PermanentError(Exception):
    """A failure no retry can fix (business-invalid data): the message goes to the DLQ."""


def _transient_types() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = [TransientError, TimeoutError, ConnectionError]
    try:  # Redis is the inventory's dependency; its errors do not derive from OSError.
        from redis import exceptions as redis_errors

        found += [
            redis_errors.ConnectionError,
            redis_errors.TimeoutError,
            redis_errors.BusyLoadingError,
        ]
    except ImportError:  # pragma: no cover - redis is a project dependency
        pass
    return tuple(found)


TRANSIENT_TYPES = _transient_types()


def is_transient(exc: BaseException) -> bool:
    """True for failures a later attempt may not meet: ``TransientError``, timeouts,
    connection errors (also Redis's). Invalid input, ``PermanentError`` and any other
    exception are permanent."""
    if isinstance(exc, ContractError | PermanentError):
        return False
    return isinstance(exc, (*TRANSIENT_TYPES, asyncio.TimeoutError))


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff over the retry tier topics, with jitter."""

    delays: tuple[float, ...] = DEFAULT_DELAYS
    jitter: float = DEFAULT_JITTER

    def __post_init__(self) -> None:
        if not 0 <= len(self.delays) <= len(RETRY_TIERS):
            raise ValueError(
                f"{DELAYS_ENV}: at most {len(RETRY_TIERS)} tiers (one per retry topic), "
                f"got {len(self.delays)}"
            )
        if any(d <= 0 for d in self.delays):
            raise ValueError(f"{DELAYS_ENV}: every delay must be positive, got {self.delays}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {self.jitter}")

    @classmethod
    def from_env(cls) -> RetryPolicy:
        raw = os.environ.get(DELAYS_ENV, "").strip()
        if not raw:
            return cls()
        try:
            delays = tuple(float(part) for part in raw.split(",") if part.strip())
        except ValueError:
            raise ValueError(f"{DELAYS_ENV}: expected seconds like '1,4,16', got {raw!r}") from None
        return cls(delays=delays)

    @property
    def tiers(self) -> int:
        return len(self.delays)

    def tier_after(self, attempts: int) -> int | None:
        """The tier (0-based) for the next attempt after ``attempts`` failed ones, or
        None when the tiers are used up (dead-letter)."""
        tier = attempts - 1
        return tier if 0 <= tier < self.tiers else None

    def delay(self, tier: int, rng: random.Random) -> float:
        """Seconds to wait before the attempt of ``tier``: its delay ± jitter."""
        base = self.delays[tier]
        return base * (1 + rng.uniform(-self.jitter, self.jitter))


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
        return cls(
            topic, partition, offset, history=wire.decode_history(header(headers, wire.HISTORY))
        )

    @classmethod
    def from_headers(cls, headers: Headers) -> RetryState | None:
        """The state a retry record carries, or None when its headers are not ours."""
        try:
            topic = _text(headers, wire.ORIGIN_TOPIC)
            return cls(
                origin_topic=topic,
                origin_partition=int(_text(headers, wire.ORIGIN_PARTITION)),
                origin_offset=int(_text(headers, wire.ORIGIN_OFFSET)),
                attempts=int(_text(headers, wire.RETRY_ATTEMPT)),
                due_at_ms=int(_text(headers, wire.RETRY_DUE_AT)),
                group=_text(headers, wire.RETRY_GROUP),
                agent=_text(headers, wire.RETRY_AGENT),
                history=wire.decode_history(header(headers, wire.HISTORY)),
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
            *wire.original_headers(original),
            (wire.RETRY_GROUP, group.encode()),
            (wire.RETRY_AGENT, agent.encode()),
            (wire.RETRY_ATTEMPT, str(self.attempts).encode()),
            (wire.RETRY_DUE_AT, str(due_at_ms).encode()),
            (wire.ORIGIN_TOPIC, self.origin_topic.encode()),
            (wire.ORIGIN_PARTITION, str(self.origin_partition).encode()),
            (wire.ORIGIN_OFFSET, str(self.origin_offset).encode()),
            (wire.HISTORY, wire.encode_history(self.history)),
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
    return DeadLetter(
        event_id=uuid.uuid5(_DLQ_NS, f"{origin}/{len(state.history)}"),
        occurred_at=at,
        correlation_id=_correlation(key),
        original_topic=state.origin_topic,
        partition=state.origin_partition,
        offset=state.origin_offset,
        key=key,
        value=value,
        headers=tuple(wire.original_headers(headers)),
        consumer_group=group,
        error_type=_error_type(exc),
        error_message=_message(exc),
        error_stack=_stack(exc),
        failed_at=at,
        attempts=max(1, state.attempts),
        history=state.history,
    )


def dead_letter_headers(record: DeadLetter) -> Headers:
    """What a DLQ consumer can route on without decoding the record."""
    return [
        (wire.DLQ_GROUP, record.consumer_group.encode()),
        (wire.DLQ_ORIGINAL_TOPIC, record.original_topic.encode()),
        (wire.DLQ_ERROR_TYPE, record.error_type.encode()),
        (wire.DLQ_ATTEMPTS, str(record.attempts).encode()),
    ]


def now_utc() -> datetime:
    return datetime.now(UTC)


def _text(headers: Headers, name: str) -> str:
    value = header(headers, name)
    if value is None:
        raise KeyError(name)
    return value.decode()


def _error_type(exc: BaseException) -> str:
    kind = type(exc)
    return (
        kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    )


def _message(exc: BaseException) -> str:
    text = str(exc) or repr(exc)
    return text[:2000]


def _stack(exc: BaseException) -> str:
    stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return stack[-20_000:]


def _correlation(key: bytes | None) -> str:
    try:
        text = (key or b"").decode()
    except UnicodeDecodeError:
        return "dead-letter"
    return text if _IDENT.match(text) else "dead-letter"
