"""Consumer groups as the page shows them: owners, lag, rebalances, health."""

from __future__ import annotations

from dashboard.groups import (
    REBALANCE_HIGHLIGHT_S,
    GroupReading,
    Member,
    group_view,
    service_health,
)

ENDS = {("orders.v1", 0): 10, ("orders.v1", 1): 5}


def reading(*members: Member, committed=None) -> GroupReading:
    return GroupReading(
        "payment", "Stable", members, {("orders.v1", 0): 7} if committed is None else committed
    )


def test_each_partition_has_its_owner_committed_end_and_lag() -> None:
    a = Member("m-a", "faust", "/127.0.0.1", (("orders.v1", 0), ("orders.v1", 1)))
    view = group_view(reading(a), ENDS, None, now=100.0)

    assert view["members"][0]["label"] == "M1"
    assert view["members"][0]["partitions"] == ["orders.v1[0]", "orders.v1[1]"]
    assert view["topics"] == [
        {
            "topic": "orders.v1",
            "partitions": [
                {"partition": 0, "owner": "M1", "committed": 7, "end": 10, "lag": 3},
                {"partition": 1, "owner": "M1", "committed": None, "end": 5, "lag": 5},
            ],
        }
    ]
    assert view["lag"] == 8 and view["rebalancedAt"] is None


def test_a_change_of_owners_is_a_rebalance_highlighted_for_a_while() -> None:
    a = Member("m-a", "faust", "h", (("orders.v1", 0), ("orders.v1", 1)))
    before = group_view(reading(a), ENDS, None, now=100.0)
    a2 = Member("m-a", "faust", "h", (("orders.v1", 0),))
    b = Member("m-b", "faust", "h", (("orders.v1", 1),))

    after = group_view(reading(a2, b), ENDS, before, now=101.5)
    same = group_view(reading(a2, b), ENDS, after, now=103.0)
    later = group_view(reading(a2, b), ENDS, same, now=101.5 + REBALANCE_HIGHLIGHT_S + 1)

    assert after["rebalancedAt"] == 101.5
    assert same["rebalancedAt"] == 101.5
    assert later["rebalancedAt"] is None
    assert [p["owner"] for p in after["topics"][0]["partitions"]] == ["M1", "M2"]


def test_a_worker_is_up_while_its_group_has_members() -> None:
    a = Member("m-a", "faust", "h", (("orders.v1", 0),))
    assert service_health(group_view(reading(a), ENDS, None, 0))["status"] == "up"
    empty = GroupReading("payment", "Empty", (), {})
    assert service_health(group_view(empty, ENDS, None, 0)) == {
        "status": "down",
        "detail": "no members (group Empty)",
    }
    assert service_health(None)["status"] == "unknown"


def test_changelogs_are_restore_state_never_lag() -> None:
    """An idle Faust group: everything committed; its table's changelog is assigned to the
    member and holds 551 records that the group never commits."""
    a = Member(
        "m-a",
        "faust",
        "h",
        (
            ("orders.v1", 0),
            ("analytics-windows-changelog", 0),
            ("analytics-__assignor-__leader", 0),
        ),
    )
    ends = {
        ("orders.v1", 0): 10,
        ("analytics-windows-changelog", 0): 551,
        ("analytics-__assignor-__leader", 0): 1,
    }
    view = group_view(reading(a, committed={("orders.v1", 0): 10}), ends, None, now=1.0)

    assert view["lag"] == 0
    assert [t["topic"] for t in view["topics"]] == ["orders.v1"]
    assert view["restore"] == [
        {
            "topic": "analytics-__assignor-__leader",
            "partitions": [{"partition": 0, "owner": "M1", "end": 1}],
            "records": 1,
        },
        {
            "topic": "analytics-windows-changelog",
            "partitions": [{"partition": 0, "owner": "M1", "end": 551}],
            "records": 551,
        },
    ]


def test_generation_and_the_last_rebalance_are_kept_after_the_highlight() -> None:
    a = Member("m-a", "faust", "h", (("orders.v1", 0), ("orders.v1", 1)))
    first = group_view(reading(a), ENDS, None, now=100.0)
    b = Member("m-b", "faust", "h", (("orders.v1", 1),))
    a2 = Member("m-a", "faust", "h", (("orders.v1", 0),))
    moved = group_view(reading(a2, b), ENDS, first, now=110.0)
    quiet = group_view(reading(a2, b), ENDS, moved, now=110.0 + REBALANCE_HIGHLIGHT_S + 5)

    assert first["generation"] == 1 and first["lastRebalanceAt"] is None
    assert moved["generation"] == 2 and moved["lastRebalanceAt"] == 110.0
    assert quiet["generation"] == 2 and quiet["lastRebalanceAt"] == 110.0
    assert quiet["rebalancedAt"] is None
