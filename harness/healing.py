"""When the supervisor restarts a crashed process: exponential backoff with a cap, reset
after the process stayed up a while, and crash-loop detection. Pure: time is passed in.

The supervisor (`harness.supervisor`) keeps one `Healing` per process name and asks it,
at each unexpected exit, how long to wait before starting the process again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RestartPolicy:
    """Restart a crashed process after ``initial`` s, doubling (``factor``) up to ``cap``
    s for each further crash; a run that lasted ``stable_after`` s starts the backoff over.
    ``loop_restarts`` crashes within ``loop_window`` s is a crash loop: reported loudly,
    and the restarts go on at the cap."""

    initial: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    stable_after: float = 30.0
    loop_restarts: int = 5
    loop_window: float = 60.0

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.factor < 1 or self.cap < self.initial:
            raise ValueError(f"bad restart policy {self!r}")


def backoff(policy: RestartPolicy, previous: float | None, uptime: float) -> float:
    """The delay before the next restart, given the delay before the last one (None: no
    restart yet) and how long the run that just ended lasted."""
    if previous is None or uptime >= policy.stable_after:
        return policy.initial
    return min(previous * policy.factor, policy.cap)


def crash_looping(policy: RestartPolicy, crashes: Iterable[float], now: float) -> bool:
    """True when at least ``loop_restarts`` crashes happened within the last
    ``loop_window`` s (``crashes``: monotonic times)."""
    recent = [t for t in crashes if now - t < policy.loop_window]
    return len(recent) >= policy.loop_restarts


@dataclass
class Healing:
    """One process's restart history under ``policy``."""

    policy: RestartPolicy
    restarts: int = 0
    #: The delay chosen for the latest restart (None before the first).
    delay: float | None = None
    crashes: deque[float] = field(default_factory=lambda: deque(maxlen=64))

    def crashed(self, started_at: float, now: float) -> float:
        """Record a crash of the run started at ``started_at``; return the restart delay
        (the restart itself is counted by `restarted`)."""
        self.delay = backoff(self.policy, self.delay, now - started_at)
        self.crashes.append(now)
        return self.delay

    def restarted(self) -> None:
        self.restarts += 1

    def looping(self, now: float) -> bool:
        return crash_looping(self.policy, self.crashes, now)
