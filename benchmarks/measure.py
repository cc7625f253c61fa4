"""The pure parts of the platform benchmark: /proc parsing, the rate ladder, the report.

Nothing here starts a process or touches the network, so the fast tier tests it all.
"""

from __future__ import annotations

import contextlib
import os
import platform as _platform
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sagactl.load import percentiles

#: The fractions of the measured maximum at which latency is measured.
LADDER = (0.25, 0.5, 0.8)
#: The report's format; bump it when a key changes meaning.
SCHEMA = 1

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class CpuTimes:
    """CPU time of one process from ``/proc/<pid>/stat``, in clock ticks."""

    utime: int
    stime: int
    #: Children the process has waited for (PostgreSQL's finished backends).
    cutime: int
    cstime: int
    ppid: int

    @property
    def own(self) -> int:
        return self.utime + self.stime

    @property
    def reaped(self) -> int:
        return self.cutime + self.cstime


def parse_proc_stat(line: str) -> CpuTimes:
    """Parse one ``/proc/<pid>/stat`` line. The command (field 2) is in parentheses and may
    hold spaces and parentheses itself, so the fields are counted after its last ``)``."""
    close = line.rindex(")")
    fields = line[close + 2 :].split()
    # fields[0] is field 3 (state); utime..cstime are fields 14..17, ppid field 4.
    return CpuTimes(
        utime=int(fields[11]),
        stime=int(fields[12]),
        cutime=int(fields[13]),
        cstime=int(fields[14]),
        ppid=int(fields[1]),
    )


def parse_vmrss_kb(status: str) -> int | None:
    """``VmRSS`` in kB from the text of ``/proc/<pid>/status`` (None for a kernel thread)."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def ticks_to_ms(ticks: float, hz: int = CLOCK_TICKS) -> float:
    return ticks * 1000.0 / hz


def cpu_ms_per_order(
    before: Mapping[str, float], after: Mapping[str, float], orders: int
) -> dict[str, float]:
    """CPU milliseconds per order of each process seen in both samples (ms in, ms out);
    a process that restarted in between (less CPU after than before) is left out."""
    if orders <= 0:
        return {}
    return {
        name: round((after[name] - before[name]) / orders, 3)
        for name in after
        if name in before and after[name] >= before[name]
    }


def ladder(maximum: float, fractions: Sequence[float] = LADDER, floor: float = 1.0) -> list[float]:
    """The fixed rates (orders/s) at ``fractions`` of ``maximum``, at least ``floor`` each,
    rounded to 0.1."""
    return [max(floor, round(maximum * f, 1)) for f in fractions]


def orders_for(rate: float, count: int, seconds: float, minimum: int = 20) -> int:
    """A fixed-rate phase's order count: ``count`` at most, and no more than ``seconds``
    worth at ``rate``; at least ``minimum`` so the percentiles mean something."""
    return max(minimum, min(count, int(rate * seconds)))


def latency_summary(values: Iterable[float]) -> dict[str, float]:
    """p50/p95/p99 (and p90, max) in ms, as ``sagactl load`` reports them."""
    return percentiles(list(values))


def ratio(a: float | None, b: float | None) -> float | None:
    if not a or not b:
        return None
    return round(a / b, 3)


def machine(load_before: tuple[float, float, float] | None = None) -> dict[str, Any]:
    """Cores, RAM, CPU model, load average (before the run) and the date."""
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "ramMb": round(ram_kb / 1024),
        "cpuModel": cpu_model or _platform.processor(),
        "loadAverageBefore": list(load_before or os.getloadavg()),
        "kernel": _platform.release(),
        "python": _platform.python_version(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def git_commit(cwd: Path) -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "commit": git("rev-parse", "HEAD"),
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


#: Keys every report has at the top level (the fast tier checks them).
REPORT_KEYS = ("schema", "command", "mode", "git", "machine", "summary", "phases")
SUMMARY_KEYS = (
    "ordersPerSecond",
    "floorOrdersPerSecond",
    "ceiling",
    "ratios",
    "latencyAtFractionOfMax",
    "readModelLagMs",
    "cpuMsPerOrder",
    "rssMb",
)


def report(
    *,
    command: str,
    mode: str,
    git: Mapping[str, Any],
    host: Mapping[str, Any],
    phases: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Any],
) -> dict[str, Any]:
    """The JSON document written to ``var/bench/<timestamp>.json``."""
    missing = [k for k in SUMMARY_KEYS if k not in summary]
    if missing:
        raise ValueError(f"summary lacks {', '.join(missing)}")
    return {
        "schema": SCHEMA,
        "command": command,
        "mode": mode,
        "git": dict(git),
        "machine": dict(host),
        "summary": dict(summary),
        "phases": [dict(p) for p in phases],
    }


def render(doc: Mapping[str, Any]) -> str:
    """The figures as text, for the terminal."""
    s = doc["summary"]
    m = doc["machine"]
    ops = s["ordersPerSecond"]
    ceiling = s["ceiling"] or {}
    ratios = s["ratios"]
    lines = [
        f"machine     {m['cores']} cores, {m['ramMb']} MB, {m['cpuModel']};"
        f" load before {' '.join(f'{x:.2f}' for x in m['loadAverageBefore'])}",
        f"commit      {doc['git'].get('commit', '')[:12]}"
        + (" (dirty)" if doc["git"].get("dirty") else ""),
        "max orders/s (flat out, outcomes per second):",
        f"  platform via gateway {ops.get('gateway')}   direct {ops.get('direct')}"
        f"   (gateway accepted {ops.get('gatewayAccepted')}/s)",
        f"  floor (bare aiokafka) {s['floorOrdersPerSecond']}",
        f"  ceiling (broker perf tools) produce {ceiling.get('produceRecordsPerSecond')} rec/s,"
        f" consume {ceiling.get('consumeRecordsPerSecond')} rec/s,"
        f" {ceiling.get('recordBytes')} B records"
        f" -> {ceiling.get('ordersPerSecond')} orders/s"
        f" at {ceiling.get('recordsPerOrder')} records/order",
        f"  ratios platform/floor {ratios.get('platformOverFloor')}"
        f"   platform/ceiling {ratios.get('platformOverCeiling')}",
        "accept -> outcome (ms) at a fraction of the max:",
    ]
    for row in s["latencyAtFractionOfMax"]:
        lat = row.get("latencyMs") or {}
        lines.append(
            f"  {row['target']:<8} {int(row['fraction'] * 100):>3} % = {row['rate']:>7} /s"
            f"  decided {row.get('throughput')}/s"
            f"  p50 {lat.get('p50', '-')}  p95 {lat.get('p95', '-')}  p99 {lat.get('p99', '-')}"
            + (f"  POST p99 {row['postMs'].get('p99', '-')}" if row.get("postMs") else "")
            + (f"  missing {row['missing']}" if row.get("missing") else "")
        )
    lag = s["readModelLagMs"] or {}
    lines.append(
        "read model  decided in Kafka -> visible in GET /api/orders/{id} (ms):"
        f" p50 {lag.get('p50', '-')}  p95 {lag.get('p95', '-')}  p99 {lag.get('p99', '-')}"
        f"  max {lag.get('max', '-')}  (n={s.get('readModelSamples', 0)})"
    )
    cpu = s["cpuMsPerOrder"] or {}
    rss = s["rssMb"] or {}
    if cpu:
        lines.append(f"CPU ms per order ({s.get('cpuPhase', '')}) and resident memory (MB):")
        for name in sorted(set(cpu) | set(rss), key=lambda n: -cpu.get(n, 0)):
            lines.append(f"  {name:<16} {cpu.get(name, '-'):>8}   {rss.get(name, '-'):>7}")
        lines.append(f"  {'TOTAL platform':<16} {s.get('cpuMsPerOrderTotal')}")
        floor_cpu = s.get("floorCpuMsPerOrder") or {}
        if floor_cpu:
            lines.append(
                f"  floor at 50 % (its 5 processes + the broker)"
                f" {round(sum(floor_cpu.values()), 2)} ms per order"
            )
    else:
        lines.append("CPU/memory  not measured (no process ids of the platform)")
    return "\n".join(lines)


def tree_ticks(root: int, stats: Mapping[int, CpuTimes]) -> int:
    """CPU ticks of ``root`` and its live descendants, plus what each has reaped (the
    CPU of children that have exited, e.g. PostgreSQL backends that closed)."""
    children: dict[int, list[int]] = {}
    for pid, st in stats.items():
        children.setdefault(st.ppid, []).append(pid)
    total = 0
    stack = [root]
    seen: set[int] = set()
    while stack:
        pid = stack.pop()
        if pid in seen or pid not in stats:
            continue
        seen.add(pid)
        total += stats[pid].own + stats[pid].reaped
        stack.extend(children.get(pid, ()))
    return total


def read_proc_stats(proc: Path = Path("/proc")) -> dict[int, CpuTimes]:
    """Every process's CPU times, read now (processes that vanish meanwhile are skipped)."""
    stats: dict[int, CpuTimes] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stats[int(entry.name)] = parse_proc_stat((entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue
    return stats


def tree_rss_kb(root: int, stats: Mapping[int, CpuTimes], proc: Path = Path("/proc")) -> int:
    """Resident memory (VmRSS, kB) of ``root`` and its live descendants (shared pages of
    forked servers such as PostgreSQL are counted once per process)."""
    children: dict[int, list[int]] = {}
    for pid, st in stats.items():
        children.setdefault(st.ppid, []).append(pid)
    total = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        with contextlib.suppress(OSError):
            total += parse_vmrss_kb((proc / str(pid) / "status").read_text()) or 0
        stack.extend(children.get(pid, ()))
    return total


def sample(pids: Mapping[str, int]) -> tuple[dict[str, float], dict[str, float]]:
    """(CPU ms so far, resident MB now) of each named process tree."""
    stats = read_proc_stats()
    cpu = {name: ticks_to_ms(tree_ticks(pid, stats)) for name, pid in pids.items() if pid in stats}
    rss = {name: round(tree_rss_kb(pid, stats) / 1024, 1) for name, pid in pids.items()}
    return cpu, {k: v for k, v in rss.items() if v}
