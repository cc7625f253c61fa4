"""``DashboardSettings``: what the dashboard (its pages, APIs and monitor) reads from the
environment besides the platform's settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from config.env import ROOT, setting, string

#: The value of ``SAGACTL_CONTROL`` that turns the control socket off.
OFF = "off"


@dataclass(frozen=True)
class DashboardSettings:
    control_socket: str = setting(
        "SAGACTL_CONTROL", string, str(ROOT / "var" / "sagactl.sock"), shown="var/sagactl.sock"
    )
    """The control socket of the `sagactl run` that runs the platform locally (`sagactl
    run` sets it for its processes): the dashboard reads each process's state from it,
    and staff's chaos controls (kill, restart, scale, pause) act through it. ``off``: no
    socket (compose sets this); the chaos API then answers 503."""

    @property
    def control_path(self) -> Path | None:
        """The socket's path, or None when it is ``off``."""
        value = self.control_socket
        return None if value.lower() == OFF else Path(value)


def load() -> DashboardSettings:
    """Read the settings from the current environment."""
    return DashboardSettings()
