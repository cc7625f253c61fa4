"""One shared reading per process for a few seconds: anonymous endpoints that would open
Kafka clients per request (``/metrics``, ``/metrics/dlq``, ``/ready``) reuse the last one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

#: How long a reading of the broker is reused (a failed one too: a dead broker must not
#: cost every request its timeout).
KAFKA_READING_TTL_S = 3.0


class Memo(Generic[T]):
    """The value of ``compute`` reused for ``ttl_s``; callers arriving while it is being
    computed wait for that one reading instead of starting their own."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._value: T | None = None
        self._at: float | None = None

    def get(self, compute: Callable[[], T]) -> T:
        with self._lock:
            if self._at is not None and time.monotonic() - self._at < self.ttl_s:
                return self._value  # type: ignore[return-value]
            value = compute()
            self._value, self._at = value, time.monotonic()
            return value

    def clear(self) -> None:
        with self._lock:
            self._value, self._at = None, None
