"""Window assignment around boundaries, lateness and which windows are due: no broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from analytics.windows import (
    MINUTE,
    Window,
    due_windows,
    is_late,
    minute_of,
    minutes_in,
    window_ending_with,
    windows_of,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GRACE = timedelta(seconds=10)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_minute_of_floors_to_the_utc_minute() -> None:
    assert minute_of(at(59.999)) == T0
    assert minute_of(at(60)) == T0 + MINUTE
    paris = datetime(2026, 3, 1, 13, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert minute_of(paris) == T0
    with pytest.raises(ValueError, match="time zone"):
        minute_of(datetime(2026, 3, 1, 12, 0))


@pytest.mark.parametrize(
    ("seconds", "start"),
    [(0, 0), (0.001, 0), (59.999999, 0), (60, 60), (61, 60), (-0.000001, -60)],
)
def test_tumbling_window_boundaries(seconds: float, start: int) -> None:
    [tumbling] = [w for w in windows_of(at(seconds)) if w.kind == "tumbling_1m"]

    assert tumbling == Window("tumbling_1m", at(start), at(start + 60))


def test_an_instant_is_in_five_hopping_windows_advancing_by_a_minute() -> None:
    hopping = [w for w in windows_of(at(125)) if w.kind == "hopping_5m"]

    # 12:02:05 is in [11:58, 12:03) ... [12:02, 12:07)
    assert [(w.start, w.end) for w in hopping] == [
        (at(-120), at(180)),
        (at(-60), at(240)),
        (at(0), at(300)),
        (at(60), at(360)),
        (at(120), at(420)),
    ]
    assert all(w.start <= at(125) < w.end for w in hopping)


def test_hopping_boundary_belongs_to_the_window_it_starts() -> None:
    starts = {w.start for w in windows_of(at(300)) if w.kind == "hopping_5m"}

    assert at(0) not in starts  # [12:00, 12:05) ends at 12:05, exclusive
    assert at(300) in starts


def test_windows_are_named_by_their_last_minute_and_made_of_minutes() -> None:
    window = window_ending_with("hopping_5m", at(250))

    assert window == Window("hopping_5m", at(0), at(300))
    assert minutes_in(window) == tuple(at(60 * k) for k in range(5))
    assert minutes_in(window_ending_with("tumbling_1m", at(250))) == (at(240),)


def test_an_event_counts_until_the_watermark_is_grace_past_its_minute() -> None:
    event = at(30)  # minute [12:00, 12:01)

    assert not is_late(event, None, GRACE)  # the first event of a partition
    assert not is_late(event, at(45), GRACE)
    assert not is_late(event, at(69.999), GRACE)  # closed, within grace
    assert is_late(event, at(70), GRACE)
    assert is_late(event, at(600), GRACE)
    assert not is_late(event, at(600), timedelta(minutes=10))


def test_a_changed_minute_is_due_in_its_tumbling_and_the_hopping_windows_up_to_the_latest() -> None:
    due = due_windows({at(0)}, latest=at(120), previous_latest=at(120))

    assert due == sorted(
        [
            window_ending_with("tumbling_1m", at(0)),
            window_ending_with("hopping_5m", at(0)),
            window_ending_with("hopping_5m", at(60)),
            window_ending_with("hopping_5m", at(120)),
        ]
    )


def test_windows_reaching_a_new_latest_minute_become_due() -> None:
    due = due_windows({at(600)}, latest=at(600), previous_latest=at(0))

    hopping_ends = sorted(w.end for w in due if w.kind == "hopping_5m")
    # those holding 12:00 (ending 12:02..12:05), and the one ending with 12:10
    assert hopping_ends == [at(120), at(180), at(240), at(300), at(660)]
