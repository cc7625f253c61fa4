"""The local processes, when `sagactl run` runs the platform: its control socket's status
(every process with its service, ``state`` and ``restarts``). The protocol is one JSON
line each way (harness/control.py); the dashboard speaks it itself, read-only, and shows
nothing when no platform answers (the platform may run elsewhere)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contracts.control import exchange
from dashboard import settings


def control_path() -> Path | None:
    """``SAGACTL_CONTROL`` (`dashboard.settings`), None when it is ``off``."""
    return settings.load().control_path


def by_service(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per service: its processes (name, state, restarts), how many run (and are ready),
    restarts summed. A state is the control socket's (running, paused, restarting,
    crash-looping, stopped), or ``starting``: running but not ready yet."""
    out: dict[str, dict[str, Any]] = {}
    for p in status.get("processes", []):
        entry = out.setdefault(
            str(p.get("service")), {"processes": [], "running": 0, "restarts": 0}
        )
        state = str(p.get("state") or ("running" if p.get("running") else "stopped"))
        if state == "running" and p.get("ready") is False:
            state = "starting"  # runs, but not ready yet (e.g. just restarted after a kill)
        entry["processes"].append(
            {"name": p.get("name"), "state": state, "restarts": int(p.get("restarts") or 0)}
        )
        entry["running"] += state == "running"
        entry["restarts"] += int(p.get("restarts") or 0)
    return out


def read_processes(path: Path | None = None, timeout: float = 1.0) -> dict[str, Any] | None:
    """The processes by service, or None when no platform answers on the socket."""
    path = path or control_path()
    if path is None:
        return None
    try:
        answer = exchange(path, {"op": "status"}, timeout)
    except (OSError, ValueError):
        return None
    return by_service(answer) if answer.get("ok") else None
