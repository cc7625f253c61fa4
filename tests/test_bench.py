"""The pure parts of ``benchmarks.platform_bench`` and ``benchmarks.dashboard_bench``: no
broker, no timing."""

from __future__ import annotations

import json

import pytest

from benchmarks import measure
from benchmarks.ceiling import (
    OrderRecords,
    ceiling_orders_per_second,
    order_records,
    parse_consumer,
    parse_producer,
)
from benchmarks.dashboard_bench import latency_figures, long_task_figures, report
from benchmarks.floor import PREFIX, floor_topics
from benchmarks.intake_bench import PRODUCTS as INTAKE_PRODUCTS
from benchmarks.intake_bench import figures as intake_figures
from benchmarks.intake_bench import order_body as intake_order
from contracts import topics

STAT = (
    "4242 (python -m saga (x)) S 4100 4242 4242 0 -1 4194560 5120 0 3 0 "
    "1234 567 89 10 20 0 9 0 1000 300000000 25000 18446744073709551615"
)


def test_parse_proc_stat_counts_fields_after_the_last_parenthesis():
    times = measure.parse_proc_stat(STAT)
    assert (times.utime, times.stime, times.cutime, times.cstime) == (1234, 567, 89, 10)
    assert times.ppid == 4100
    assert times.own == 1801
    assert times.reaped == 99


def test_vmrss_is_read_from_status_text():
    status = "Name:\tpython\nVmPeak:\t 2000 kB\nVmRSS:\t   65432 kB\nThreads:\t4\n"
    assert measure.parse_vmrss_kb(status) == 65432
    assert measure.parse_vmrss_kb("Name:\tkthreadd\n") is None


def test_tree_ticks_adds_live_descendants_and_reaped_children_once():
    def cpu(utime: int, stime: int, ppid: int, cutime: int = 0) -> measure.CpuTimes:
        return measure.CpuTimes(utime, stime, cutime, 0, ppid)

    stats = {
        10: cpu(100, 50, 1, cutime=7),  # postmaster, reaped 7 ticks of closed backends
        11: cpu(20, 5, 10),  # backend
        12: cpu(3, 2, 11),  # its child
        20: cpu(999, 999, 1),  # unrelated
    }
    assert measure.tree_ticks(10, stats) == 150 + 7 + 25 + 5
    assert measure.tree_ticks(11, stats) == 30
    assert measure.tree_ticks(99, stats) == 0


def test_cpu_ms_per_order_divides_the_difference_and_skips_restarted_processes():
    before = {"saga": 1000.0, "payment": 500.0, "gone": 1.0, "restarted": 900.0}
    after = {"saga": 1500.0, "payment": 600.0, "new": 50.0, "restarted": 10.0}
    assert measure.cpu_ms_per_order(before, after, 100) == {"saga": 5.0, "payment": 1.0}
    assert measure.cpu_ms_per_order(before, after, 0) == {}


def test_ticks_to_ms():
    assert measure.ticks_to_ms(250, hz=100) == 2500.0


def test_ladder_is_25_50_80_percent_of_the_max_with_a_floor():
    assert measure.ladder(200.0) == [50.0, 100.0, 160.0]
    assert measure.ladder(134.6) == [33.6, 67.3, 107.7]
    assert measure.ladder(2.0) == [1.0, 1.0, 1.6]
    assert measure.ladder(0.0) == [1.0, 1.0, 1.0]


def test_orders_for_a_fixed_rate_phase_are_bounded_by_count_and_seconds():
    assert measure.orders_for(rate=100, count=1500, seconds=5) == 500
    assert measure.orders_for(rate=1000, count=1500, seconds=5) == 1500
    assert measure.orders_for(rate=1, count=1500, seconds=5) == 20


def test_latency_summary_uses_nearest_rank_percentiles():
    summary = measure.latency_summary(float(n) for n in range(1, 101))
    assert summary["p50"] == 50.0
    assert summary["p95"] == 95.0
    assert summary["p99"] == 99.0
    assert summary["max"] == 100.0
    assert measure.latency_summary([]) == {}


def test_ratio():
    assert measure.ratio(50, 200) == 0.25
    assert measure.ratio(None, 200) is None
    assert measure.ratio(50, 0) is None


def _summary() -> dict[str, object]:
    return {
        "ordersPerSecond": {"direct": 72.4, "gateway": 44.8, "gatewayAccepted": 52.8},
        "floorOrdersPerSecond": 297.6,
        "ceiling": {"ordersPerSecond": 4801.2, "recordBytes": 317, "recordsPerOrder": 7},
        "ratios": {"platformOverFloor": 0.243, "platformOverCeiling": 0.015},
        "latencyAtFractionOfMax": [
            {
                "target": "gateway",
                "fraction": 0.5,
                "rate": 22.4,
                "throughput": 22.4,
                "latencyMs": {"p50": 89.9, "p95": 194.6, "p99": 223.2},
                "postMs": {"p99": 40.0},
                "missing": 0,
            }
        ],
        "readModelLagMs": {"p50": 120.0, "p95": 300.0, "p99": 400.0, "max": 410.0},
        "readModelSamples": 20,
        "cpuPhase": "gateway at 50 %",
        "cpuMsPerOrder": {"kafka": 14.2, "saga": 7.1},
        "cpuMsPerOrderTotal": 21.3,
        "floorCpuMsPerOrder": {"floor.saga": 1.0},
        "rssMb": {"kafka": 245.7, "saga": 66.6},
    }


def test_report_has_the_documented_shape_and_is_json():
    doc = measure.report(
        command="python -m benchmarks.platform_bench --quick",
        mode="quick",
        git={"commit": "abc", "dirty": False},
        host=measure.machine((0.5, 0.4, 0.3)),
        phases=[{"name": "direct flat out", "throughput": 72.4}],
        summary=_summary(),
    )
    assert tuple(doc) == measure.REPORT_KEYS
    assert set(measure.SUMMARY_KEYS) <= set(doc["summary"])
    for key in ("cores", "ramMb", "cpuModel", "loadAverageBefore", "date"):
        assert key in doc["machine"]
    assert doc["machine"]["loadAverageBefore"] == [0.5, 0.4, 0.3]
    assert json.loads(json.dumps(doc)) == doc
    text = measure.render(doc)
    assert "platform/floor 0.243" in text
    assert "TOTAL platform" in text


def test_report_refuses_a_summary_without_a_figure():
    summary = _summary()
    del summary["cpuMsPerOrder"]
    with pytest.raises(ValueError, match="cpuMsPerOrder"):
        measure.report(command="", mode="quick", git={}, host={}, phases=[], summary=summary)


def test_perf_tool_output_is_parsed():
    produced = parse_producer(
        "25000 records sent, 12000.5 records/sec (3.63 MB/sec), 900.1 ms avg latency,"
        " 1200.0 ms max latency.\n"
        "50000 records sent, 46382.2 records/sec (14.02 MB/sec), 602.5 ms avg latency,"
        " 1100.0 ms max latency, 580 ms 50th, 1000 ms 95th, 1080 ms 99th, 1099 ms 99.9th.\n"
    )
    assert produced["recordsPerSecond"] == 46382.2
    assert produced["p99Ms"] == 1080
    consumed = parse_consumer(
        "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,"
        " rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n"
        "2026-12-03 09:15:00:000, 2026-12-03 09:15:04:000, 15.1, 3.8, 50000, 12500.0,"
        " 3000, 239, 63.2, 209205.0\n"
    )
    assert consumed["records"] == 50000
    assert consumed["fetchRecordsPerSecond"] == 209205.0
    assert parse_producer("nothing") == {} and parse_consumer("nothing") == {}


def test_one_order_in_the_floor_topology():
    records = order_records()
    # OrderPlaced, PaymentAuthorized, InventoryReserved, a stock level, OrderCompleted,
    # the stock level after the sale, NotificationSent.
    assert records.produced == 7
    assert records.delivered > records.produced
    assert 100 < records.mean_bytes < 2000


def test_ceiling_orders_per_second():
    records = OrderRecords(produced=7, delivered=12, mean_bytes=317)
    assert ceiling_orders_per_second(7000, 12000, records) == 500.0
    assert ceiling_orders_per_second(None, 12000, records) is None


def test_floor_topics_copy_the_platform_topics_under_a_prefix():
    specs = {spec.name: spec for spec in floor_topics()}
    orders = specs[PREFIX + topics.ORDERS.name]
    assert orders.partitions == topics.ORDERS.partitions
    assert orders.configs == topics.ORDERS.configs
    assert all(name.startswith(PREFIX) for name in specs)


def test_dashboard_latency_figures_join_published_and_seen_rows():
    published = {f"o{i}|PENDING": 1000.0 for i in range(10)}
    seen = {f"o{i}|PENDING": 1000.0 + 10 * (i + 1) for i in range(8)}  # 2 never shown
    seen["other|PENDING"] = 5.0  # not published by this run: ignored
    out = latency_figures(published, seen)
    assert out["published"] == 10 and out["seen"] == 8 and out["seenShare"] == 0.8
    assert (out["p50Ms"], out["p95Ms"], out["p99Ms"], out["maxMs"]) == (40, 80, 80, 80)
    assert latency_figures({}, {})["seenShare"] is None


def test_dashboard_long_tasks_count_only_the_run():
    tasks = [(50.0, 300.0), (1000.0, 60.0), (1500.0, 120.0), (9000.0, 500.0)]
    assert long_task_figures(tasks, 100.0, 2000.0) == {"count": 2, "maxMs": 120.0, "over100Ms": 1}
    assert long_task_figures([], 0, 1) == {"count": 0, "maxMs": None, "over100Ms": 0}


def test_dashboard_report_prints_the_figures_machine_and_command():
    figures = {
        "rate": 300,
        "seconds": 20,
        "ordersPerSecond": 299.6,
        "messages": 400,
        "dom": latency_figures({"a|PENDING": 0.0}, {"a|PENDING": 42.0}),
        "longTasks": {"count": 1, "maxMs": 130.0, "over100Ms": 1},
        "resyncs": 0,
        "sockets": {
            "clients": 49,
            "received": 19600,
            "expected": 19600,
            "p50Ms": 3.0,
            "p95Ms": 9.0,
            "p99Ms": 20.0,
        },
        "machine": {
            "cores": 2,
            "loadAverageBefore": [1.0, 1.0, 1.0],
            "loadAverageAfter": [2.0, 1.0, 1.0],
            "date": "2026-12-03T14:00:00+00:00",
        },
        "command": "python -m benchmarks.dashboard_bench",
    }
    text = report(figures)
    assert "publish → DOM (Chromium, first screen): p50 42 ms · p95 42 ms" in text
    assert "50 sockets (49 plain + 1 Chromium page)" in text
    assert "over 100 ms: 1" in text and "2 cores" in text
    assert text.splitlines()[-1] == "  command: python -m benchmarks.dashboard_bench"


def test_intake_figures_divide_the_gateway_cpu_by_the_accepted_orders():
    result = {
        "statuses": {"202": 400, "503": 2},
        "latencies": [float(n) for n in range(1, 403)],
        "seconds": 5.0,
    }
    out = intake_figures(result, {"gateway": 1000.0, "redis": 50.0}, {"gateway": 5000.0})
    assert out["accepted"] == 400 and out["acceptedPerSecond"] == 80.0
    assert out["cpuMsPerAccepted"] == {"gateway": 10.0}  # redis not sampled after: left out
    assert out["postMs"]["p50"] == 201
    assert intake_figures({**result, "statuses": {}}, {}, {})["cpuMsPerAccepted"] == {}


def test_intake_orders_are_distinct_and_priced_from_the_benchmark_catalogue():
    bodies = [intake_order(n, "run") for n in range(10)]
    assert len({b["orderId"] for b in bodies}) == 10
    for body in bodies:
        (line,) = body["items"]
        assert line["price"] == str(INTAKE_PRODUCTS[line["productId"]])


def test_cohost_bench_reads_its_rates() -> None:
    from benchmarks.cohost_bench import parse_rates

    assert parse_rates("20:600,60:1800") == [(20.0, 600), (60.0, 1800)]
