"""The last five minutes, for the dashboard's charts: one compact sample per monitor poll
(totals, latency percentiles, lag per group) kept in a bounded Redis list (a ring: the
newest ``KEEP``), so a page that just loaded draws the last minutes at once and then
appends each status push to its own ring (dashboard/static/dashboard/charts.js).

Rates are not stored: the page derives accepted/decided/completed/cancelled per second
from two successive samples, as it does for the KPI strip."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol

#: The Redis list of samples, oldest first.
HISTORY_KEY = "dashboard:history"
#: What the charts show, in seconds.
WINDOW_S = 300
#: Samples kept: five minutes of 1.5 s polls and some slack.
KEEP = 240


class ListStore(Protocol):
    """The Redis list commands used here (redis.Redis has them; tests pass a fake)."""

    def rpush(self, key: str, *values: str) -> Any: ...

    def ltrim(self, key: str, start: int, end: int) -> Any: ...

    def lrange(self, key: str, start: int, end: int) -> Any: ...

    def expire(self, key: str, seconds: int) -> Any: ...


def sample(status: dict[str, Any]) -> dict[str, Any] | None:
    """One point of the charts from a monitor status (None without the read model's KPIs).

    ``t`` (epoch seconds), the totals ``accepted``, ``completed``, ``cancelled`` and
    ``cancelledBy`` (reason: count), ``p50``/``p99`` (ms, last minute; None without
    decided orders) and ``lag`` per consumer group (only the groups the monitor read)."""
    kpis = status.get("kpis")
    if not kpis:
        return None
    return {
        "t": round(datetime.fromisoformat(status["at"]).timestamp(), 3),
        "accepted": kpis["accepted"],
        "completed": kpis["completed"],
        "cancelled": kpis["cancelled"],
        "cancelledBy": dict(kpis.get("cancelledBy") or {}),
        "p50": kpis.get("p50Ms"),
        "p99": kpis.get("p99Ms"),
        "lag": {g["group"]: int(g["lag"]) for g in status.get("groups") or []},
    }


def keep(store: ListStore, point: dict[str, Any]) -> None:
    """Append a sample and drop all but the newest ``KEEP`` (the list expires when the
    monitor stops writing)."""
    store.rpush(HISTORY_KEY, json.dumps(point, separators=(",", ":")))
    store.ltrim(HISTORY_KEY, -KEEP, -1)
    store.expire(HISTORY_KEY, WINDOW_S * 2)


def recent(store: ListStore, now: float) -> list[dict[str, Any]]:
    """The samples of the last ``WINDOW_S`` seconds, oldest first."""
    out = []
    for raw in store.lrange(HISTORY_KEY, 0, -1):
        try:
            point = json.loads(raw)
        except ValueError:
            continue
        if isinstance(point, dict) and now - float(point.get("t", 0)) <= WINDOW_S:
            out.append(point)
    return out
