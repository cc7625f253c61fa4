"""The monitor's pure helpers: percentiles, hop latencies, processes by service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dashboard.kpis import HOPS, hop_latencies, percentile
from dashboard.processes import by_service, read_processes


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_processes_are_grouped_by_service_with_state_and_restarts() -> None:
    status = {
        "processes": [
            {"name": "payment", "service": "payment", "state": "running", "restarts": 1},
            {"name": "payment.2", "service": "payment", "state": "crash-looping", "restarts": 4},
            {"name": "saga", "service": "saga", "running": False},
        ]
    }
    out = by_service(status)
    assert out["payment"]["running"] == 1 and out["payment"]["restarts"] == 5
    assert out["payment"]["processes"][1] == {
        "name": "payment.2",
        "state": "crash-looping",
        "restarts": 4,
    }
    assert out["saga"] == {
        "processes": [{"name": "saga", "state": "stopped", "restarts": 0}],
        "running": 0,
        "restarts": 0,
    }


def test_a_process_that_runs_but_is_not_ready_is_starting() -> None:
    status = {
        "processes": [
            {"name": "payment", "service": "payment", "state": "running", "ready": False},
            {"name": "payment.2", "service": "payment", "state": "running", "ready": True},
        ]
    }
    out = by_service(status)["payment"]
    assert [p["state"] for p in out["processes"]] == ["starting", "running"]
    assert out["running"] == 1


def test_no_platform_on_the_socket_is_none(tmp_path, monkeypatch) -> None:
    assert read_processes(tmp_path / "nothing.sock") is None
    monkeypatch.setenv("SAGACTL_CONTROL", "off")
    assert read_processes() is None


def _at(ms: int) -> datetime:
    return datetime(2026, 12, 3, 12, 0, tzinfo=UTC) + timedelta(milliseconds=ms)


def test_hop_latencies_are_the_p50_of_each_hop() -> None:
    orders = [
        # accepted, payment, inventory, outcome, notice
        (_at(0), _at(10), _at(20), _at(25), _at(40)),
        (_at(0), _at(30), _at(12), _at(50), _at(51)),
        (_at(0), _at(50), _at(40), _at(90), None),  # no notice yet
    ]
    out = hop_latencies(orders)
    assert out == {"payment": 30, "inventory": 20, "saga": 20, "notice": 1}
    # the saga's hop starts at the later answer: 5 ms, 20 ms, 40 ms -> p50 20 ms


def test_a_saga_ended_by_the_first_answer_is_timed_from_it() -> None:
    # payment declined at 10 ms, the saga cancelled at 15 ms, inventory answered later
    out = hop_latencies([(_at(0), _at(10), _at(30), _at(15), _at(18))])
    assert out == {"payment": 10, "inventory": 30, "saga": 5, "notice": 3}


def test_hops_without_orders_or_events_are_none() -> None:
    assert hop_latencies([]) == dict.fromkeys(HOPS)
    out = hop_latencies([(None, None, None, _at(5), None)])
    assert out == dict.fromkeys(HOPS)
