"""When a partition's commits count as stalled behind messages nobody processes."""

from faust.types import TP

from streaming.upstream.commit_watchdog import IN_FLIGHT_LOOKS, Snapshot, _stays_behind, stalled

ORDERS = TP("orders.v1", 0)


def test_a_hole_at_the_committed_offset_with_later_offsets_acked() -> None:
    assert Snapshot(committed=13, acked=(31, 32, 33), in_flight=()).hole == (13, 31)


def test_no_hole_while_the_missing_message_is_in_flight_or_known_missing() -> None:
    assert Snapshot(committed=13, acked=(31,), in_flight=(13,)).hole is None
    assert Snapshot(committed=13, acked=(31,), in_flight=(), gaps=((10, 31),)).hole is None
    assert Snapshot(committed=13, acked=(13, 14), in_flight=()).hole is None
    assert Snapshot(committed=13, acked=(), in_flight=()).hole is None
    assert Snapshot(committed=None, acked=(31,), in_flight=()).hole is None


def test_only_a_hole_seen_twice_is_stalled() -> None:
    first = {ORDERS: Snapshot(committed=13, acked=(31, 32), in_flight=())}
    same = {ORDERS: Snapshot(committed=13, acked=(31, 32, 33), in_flight=())}
    moved = {ORDERS: Snapshot(committed=33, acked=(40,), in_flight=())}
    assert stalled([], first) == {}
    assert stalled([first], same) == {ORDERS: (13, 31)}
    assert stalled([same], moved) == {}


def test_a_gap_held_in_flight_too_long_is_stalled_too() -> None:
    held = {ORDERS: Snapshot(committed=13, acked=(31, 32), in_flight=(13,))}
    assert held[ORDERS].hole is None and held[ORDERS].gap == (13, 31)
    assert stalled([held] * (IN_FLIGHT_LOOKS - 1), held) == {}  # a retry may wait that long
    assert stalled([held] * IN_FLIGHT_LOOKS, held) == {ORDERS: (13, 31)}


def test_a_hole_at_the_end_of_a_fully_read_partition() -> None:
    # The last messages were dropped: nothing acked, nothing in flight, all read.
    tail = Snapshot(committed=300, acked=(), in_flight=(), read=340, highwater=341)
    assert tail.hole == (300, 341)
    assert stalled([{ORDERS: tail}], {ORDERS: tail}) == {ORDERS: (300, 341)}
    # Still reading, all committed, or still in flight: no hole.
    assert Snapshot(committed=300, acked=(), in_flight=(), read=320, highwater=341).hole is None
    assert Snapshot(committed=341, acked=(), in_flight=(), read=340, highwater=341).hole is None
    assert Snapshot(committed=300, acked=(), in_flight=(300,), read=340, highwater=341).hole is None


def test_a_partition_idle_behind_its_end_for_three_looks_is_stalled() -> None:
    # Seen in CI after a replay: committed 152, end 177, nothing read, acked or in flight.
    idle = {ORDERS: Snapshot(committed=152, acked=(), in_flight=(), read=0, highwater=177)}
    assert idle[ORDERS].idle_behind == (152, 177)
    assert stalled([idle], idle) == {}
    assert stalled([idle, idle], idle) == {ORDERS: (152, 177)}
    busy = {ORDERS: Snapshot(committed=152, acked=(152,), in_flight=(), read=160, highwater=177)}
    assert stalled([busy, busy], busy) == {}


def test_a_partition_idle_behind_its_end_from_a_commit_at_0() -> None:
    # Seen after a restart of a group committed at 0 (Faust keeps 0 as None, read 0).
    idle = {ORDERS: Snapshot(committed=None, acked=(), in_flight=(), read=0, highwater=4)}
    assert idle[ORDERS].idle_behind == (0, 4)
    assert stalled([idle, idle], idle) == {ORDERS: (0, 4)}
    # Never committed nor read (a new group): nothing is known to be skipped.
    fresh = Snapshot(committed=None, acked=(), in_flight=(), read=None, highwater=4)
    assert fresh.idle_behind is None
    # Message 0 read and being processed: not idle.
    assert (
        Snapshot(committed=None, acked=(), in_flight=(0,), read=0, highwater=4).idle_behind is None
    )


TIER = [TP("orders.retry.16s.v1", n) for n in range(3)]


def test_a_retry_tier_whose_agent_waits_is_neither_idle_nor_holed() -> None:
    # The tier's one agent waits on partition 0's record; partition 1's records were
    # read and queue behind it; partition 2's wait after its committed offset.
    look = {
        TIER[0]: Snapshot(committed=40, acked=(), in_flight=(40,), read=42, highwater=43),
        TIER[1]: Snapshot(committed=33, acked=(), in_flight=(), read=35, highwater=36),
        TIER[2]: Snapshot(committed=59, acked=(), in_flight=(), read=58, highwater=62),
    }
    assert look[TIER[1]].hole == (33, 36) and look[TIER[2]].idle_behind == (59, 62)
    assert stalled([look, look], look) == {}


def test_a_retry_tier_whose_agent_waits_on_nothing_can_stall() -> None:
    # Nothing in flight on the tier: its records are not waiting for anything (seen
    # when a recovery's seek overlapped a fetch: they were never delivered).
    look = {
        TIER[1]: Snapshot(committed=33, acked=(), in_flight=(), read=35, highwater=36),
        TIER[2]: Snapshot(committed=59, acked=(), in_flight=(), read=58, highwater=62),
    }
    assert stalled([look], look) == {TIER[1]: (33, 36)}
    assert stalled([look, look], look) == {TIER[1]: (33, 36), TIER[2]: (59, 62)}


def test_a_partition_that_stays_behind_is_reported_once() -> None:
    behind = {ORDERS: Snapshot(committed=5, acked=(), in_flight=(9,), read=9, highwater=20)}
    moving = {ORDERS: Snapshot(committed=3, acked=(4,), in_flight=(), read=9, highwater=20)}
    assert not _stays_behind([moving], ORDERS, behind[ORDERS])
    assert _stays_behind([moving, behind, behind], ORDERS, behind[ORDERS])
    assert not _stays_behind([behind, behind, behind], ORDERS, behind[ORDERS])  # said already
    done = Snapshot(committed=20, acked=(), in_flight=(), read=19, highwater=20)
    assert not _stays_behind([{ORDERS: done}] * 3, ORDERS, done)
