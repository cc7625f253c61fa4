"""Event-time windows, pure: which windows an instant falls in, and when a minute is closed.

Both window kinds are built from one unit, the **minute of event time** (an event's
``occurred_at`` floored to the minute, UTC)::

    tumbling_1m   [m, m+1m)          one per minute
    hopping_5m    [m-4m, m+1m)       five minutes, advancing every minute; named by
                                     its last minute m, so each minute ends one window

So analytics counts per minute only, and a window's counts are the sum of its minutes.

**Late events.** Each input partition has a watermark: the greatest ``occurred_at`` seen
on it. A minute *closes* when the watermark passes its end; an event is still counted
while the watermark is less than ``grace`` past the end of its minute, and is **late**
after that. A late event is not added to any window: it is counted in ``late_events`` of
the minute the watermark is in when it arrives (where a dashboard shows it "now"), so
nothing is dropped silently. Lateness is judged per minute for both kinds: an event too
late for its minute is also left out of the hopping windows that are still open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

MINUTE = timedelta(minutes=1)
#: The hopping window's length (it advances by ``MINUTE``).
HOPPING_SIZE = timedelta(minutes=5)

Kind = Literal["tumbling_1m", "hopping_5m"]
KINDS: tuple[Kind, ...] = ("tumbling_1m", "hopping_5m")
_SIZES: dict[Kind, timedelta] = {"tumbling_1m": MINUTE, "hopping_5m": HOPPING_SIZE}


@dataclass(frozen=True, order=True)
class Window:
    """One window: ``[start, end)`` of event time."""

    kind: Kind
    start: datetime
    end: datetime


def minute_of(at: datetime) -> datetime:
    """The start of the minute ``at`` falls in, in UTC (``at`` must be timezone-aware)."""
    if at.tzinfo is None:
        raise ValueError(f"{at!r} has no time zone")
    return at.astimezone(UTC).replace(second=0, microsecond=0)


def window_ending_with(kind: Kind, minute: datetime) -> Window:
    """The window of ``kind`` whose last minute is ``minute`` (the one a dashboard shows
    while the watermark is in that minute)."""
    end = minute_of(minute) + MINUTE
    return Window(kind, end - _SIZES[kind], end)


def windows_of(at: datetime) -> tuple[Window, ...]:
    """Every window ``at`` falls in: its tumbling window, then the five hopping windows
    from the earliest start to the latest."""
    minute = minute_of(at)
    tumbling = window_ending_with("tumbling_1m", minute)
    hopping = tuple(window_ending_with("hopping_5m", minute + k * MINUTE) for k in range(5))
    return (tumbling, *hopping)


def minutes_in(window: Window) -> tuple[datetime, ...]:
    """The minutes a window is made of, oldest first."""
    count = (window.end - window.start) // MINUTE
    return tuple(window.start + k * MINUTE for k in range(count))


def is_late(at: datetime, watermark: datetime | None, grace: timedelta) -> bool:
    """Whether an event at ``at`` is too late for its minute (see the module docstring).

    ``watermark`` is the greatest event time seen on the event's partition (``None``
    before the first event). An event is late when ``watermark >= end of its minute +
    grace``; exactly at that instant the minute is closed.
    """
    return watermark is not None and watermark >= minute_of(at) + MINUTE + grace


def due_windows(
    changed: set[datetime], latest: datetime, previous_latest: datetime | None
) -> list[Window]:
    """The windows to snapshot after ``changed`` minutes changed, sorted.

    ``latest`` is the newest minute with counts, ``previous_latest`` what it was at the
    last snapshot. A changed minute m changes its tumbling window and the hopping windows
    ending with m..m+4; hopping windows ending after ``latest`` are not snapshotted yet
    (they would show the past few minutes as if they were the whole window): they are
    due once ``latest`` reaches their last minute: a window that ends with a minute after
    ``previous_latest`` and holds minutes up to it is due too. The caller skips windows
    without counts.
    """
    due: set[Window] = set()
    for minute in changed:
        due.add(window_ending_with("tumbling_1m", minute))
        for k in range(5):
            last = minute + k * MINUTE
            if last <= latest:
                due.add(window_ending_with("hopping_5m", last))
    if previous_latest is not None:
        # Windows that now may end, holding minutes up to ``previous_latest``.
        last = previous_latest + MINUTE
        while last <= min(latest, previous_latest + 4 * MINUTE):
            due.add(window_ending_with("hopping_5m", last))
            last += MINUTE
    return sorted(due)
