"""Which infrastructure an operations command works on: the environment's, else the
running `sagactl run`'s (its Kafka, database and Redis are on ports it picked)."""

from __future__ import annotations

import os
from pathlib import Path

from harness.control import ControlError, default_path, request
from harness.runner import INFRA_VARS


def platform_env(control: Path | None = None) -> dict[str, str]:
    """``KAFKA_BOOTSTRAP_SERVERS``, ``DATABASE_URL``, ``REDIS_URL`` and ``GATEWAY_URL``:
    each from this process's environment when set there, else from the platform that
    answers on the control socket, else absent (the settings' defaults apply)."""
    found: dict[str, str] = {}
    try:
        status = request(control or default_path(), {"op": "status"}, timeout=5.0)
    except (ControlError, ValueError):
        status = {}
    found.update({k: str(v) for k, v in status.get("env", {}).items() if v})
    if status.get("gateway"):
        found["GATEWAY_URL"] = str(status["gateway"])
    for name in (*INFRA_VARS, "GATEWAY_URL"):
        value = os.environ.get(name, "").strip()
        if value:
            found[name] = value
    return found


def apply(env: dict[str, str]) -> None:
    """Put ``env`` into this process's environment, so settings objects read it."""
    os.environ.update(env)
