"""What to do with a message whose processing failed: pure decisions, no Kafka.

- ``classify``: a transient failure (a dependency timing out or unreachable) is worth
  another attempt later; anything else (undecodable or invalid input, a business
  rule the data breaks, a bug) fails the same way every time and goes to the
  dead-letter queue at once, where an operator can inspect it and redrive it once
  the cause is fixed.
- ``RetryPolicy``: the backoff tiers (default 1 s, 4 s, 16 s: one retry topic each),
  with jitter; after the last tier, the dead-letter queue.

The failure history (``RetryState``) and the ``DeadLetter`` it ends in are in
``contracts.failures``, shared with the gateway's projector.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, datetime

from contracts import ContractError
from contracts.topics import RETRY_TIERS

#: Default delay of each retry tier, seconds (the tier topics are named after them).
DEFAULT_DELAYS: tuple[float, ...] = (1.0, 4.0, 16.0)
#: Each delay is drawn uniformly within ±this fraction of its tier's delay.
DEFAULT_JITTER = 0.1

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


def now_utc() -> datetime:
    return datetime.now(UTC)
