"""Prometheus text exposition (format 0.0.4) of a few counters and gauges, no dependency.

metrics = Metrics()
metrics.inc("saga_events_total", "Events by outcome", agent="payment", outcome="handled")
metrics.set("saga_consumer_lag", "Messages not yet committed", 3, topic="orders.v1")
text = metrics.render()
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = tuple[tuple[str, str], ...]
#: A gauge computed when scraped: yields (labels, value) pairs.
Collector = Callable[[], Iterable[tuple[Mapping[str, str], float]]]


class Metrics:
    """Counters and gauges by name and labels; thread-safe; rendered on demand."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, dict[Labels, float]] = {}
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
        lines: list[str] = []
        for name in sorted(meta):
            help, kind = meta[name]
            lines.append(f"# HELP {name} {_escape_help(help)}")
            lines.append(f"# TYPE {name} {kind}")
            for labels, value in sorted(values.get(name, {}).items()):
                lines.append(f"{name}{_labels(labels)} {_number(value)}")
        return "\n".join(lines) + "\n"

    def _add(
        self, name: str, help: str, kind: str, labels: Mapping[str, str], v: float, *, replace: bool
    ) -> None:
        key = _key(labels)
        with self._lock:
            self._meta.setdefault(name, (help, kind))
            samples = self._values.setdefault(name, {})
            samples[key] = v if replace else samples.get(key, 0.0) + v


def _key(labels: Mapping[str, str]) -> Labels:
    return tuple(sorted((k, str(v)) for k, v in labels.items()))


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape_value(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
