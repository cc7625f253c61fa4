"""The monitor's pure helpers: percentiles, processes by service."""

from __future__ import annotations

from dashboard.kpis import percentile
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
