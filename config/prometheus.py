"""Prometheus text exposition (format 0.0.4), written by hand: no dependency.

Two ways in, one renderer: ``render(families)`` writes ``Metric`` families computed on
the spot (the gateway's ``/metrics``), and ``Metrics`` keeps counters and gauges that a
long-running worker updates as it goes::

    metrics = Metrics()
    metrics.inc("saga_events_total", "Events", agent="payment", outcome="handled")
    metrics.collect("saga_consumer_lag", "Messages not yet committed", compute_lags)
    text = metrics.render()
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = Mapping[str, str]
#: A gauge computed when scraped: yields (labels, value) pairs.
Collector = Callable[[], Iterable[tuple[Labels, float]]]
_Key = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Metric:
    """One metric family: its name, type (``counter`` or ``gauge``), help and samples."""

    name: str
    kind: str
    help: str
    samples: list[tuple[Labels, float]] = field(default_factory=list)


def render(metrics: Iterable[Metric]) -> str:
    """The text format: ``# HELP``, ``# TYPE``, then one line per sample; ends with a newline."""
    lines: list[str] = []
    for metric in metrics:
        lines.append(f"# HELP {metric.name} {_escape_help(metric.help)}")
        lines.append(f"# TYPE {metric.name} {metric.kind}")
        for labels, value in metric.samples:
            if labels:
                inner = ",".join(f'{k}="{_escape_label(str(v))}"' for k, v in labels.items())
                lines.append(f"{metric.name}{{{inner}}} {_number(value)}")
            else:
                lines.append(f"{metric.name} {_number(value)}")
    return "\n".join(lines) + "\n"


class Metrics:
    """Counters and gauges by name and labels; thread-safe; rendered on demand."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, dict[_Key, float]] = {}
        self._meta: dict[str, tuple[str, str]] = {}
        self._collectors: dict[str, Collector] = {}

    def inc(self, name: str, help: str, amount: float = 1.0, **labels: str) -> None:
        self._add(name, help, "counter", labels, amount, replace=False)

    def set(self, name: str, help: str, value: float, **labels: str) -> None:
        self._add(name, help, "gauge", labels, value, replace=True)

    def collect(self, name: str, help: str, collector: Collector) -> None:
        """A gauge whose samples ``collector`` computes at each render."""
        with self._lock:
            self._meta[name] = (help, "gauge")
            self._collectors[name] = collector

    def value(self, name: str, **labels: str) -> float:
        with self._lock:
            return self._values.get(name, {}).get(_key(labels), 0.0)

    def total(self, name: str) -> float:
        with self._lock:
            return sum(self._values.get(name, {}).values())

    def render(self) -> str:
        with self._lock:
            values = {name: dict(samples) for name, samples in self._values.items()}
            meta = dict(self._meta)
            collectors = dict(self._collectors)
        for name, collector in collectors.items():
            values[name] = {_key(labels): float(v) for labels, v in collector()}
        families = []
        for name, (help, kind) in sorted(meta.items()):
            samples = sorted(values.get(name, {}).items())
            families.append(Metric(name, kind, help, [(dict(k), v) for k, v in samples]))
        return render(families)

    def _add(
        self, name: str, help: str, kind: str, labels: Labels, v: float, *, replace: bool
    ) -> None:
        key = _key(labels)
        with self._lock:
            self._meta.setdefault(name, (help, kind))
            samples = self._values.setdefault(name, {})
            samples[key] = v if replace else samples.get(key, 0.0) + v


def _key(labels: Labels) -> _Key:
    return tuple(sorted((k, str(v)) for k, v in labels.items()))


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))
