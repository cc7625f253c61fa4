"""System tools the harness runs, found on PATH or installed with apt when we are root."""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import subprocess
import sys
import threading

#: The Debian package that provides each tool.
DEBIAN_PACKAGES: dict[str, str] = {
    "java": "openjdk-17-jre-headless",
    "mvn": "maven",
    "initdb": "postgresql",
    "pg_ctl": "postgresql",
    "postgres": "postgresql",
    "redis-server": "redis-server",
    "node": "nodejs",
}

#: Debian keeps the PostgreSQL server binaries off PATH, one folder per major version.
EXTRA_DIRS = ("/usr/lib/postgresql/*/bin",)

_apt_lock = threading.Lock()
_apt_updated = False


class MissingTools(RuntimeError):
    """Required system tools are missing and cannot be installed from here."""


def find(tool: str) -> str | None:
    """The absolute path of ``tool`` on PATH or in :data:`EXTRA_DIRS` (newest version first)."""
    found = shutil.which(tool)
    if found:
        return found
    for pattern in EXTRA_DIRS:
        for folder in sorted(glob.glob(pattern), key=_version_key, reverse=True):
            found = shutil.which(tool, path=folder)
            if found:
                return found
    return None


def install_command(tools: list[str]) -> list[str]:
    """The ``apt-get install`` argv that provides ``tools``."""
    packages = sorted({DEBIAN_PACKAGES.get(tool, tool) for tool in tools})
    return ["apt-get", "install", "-y", "--no-install-recommends", *packages]


def ensure(*tools: str) -> dict[str, str]:
    """Return ``{tool: path}``, installing missing tools with apt when running as root.

    Not root: raise :class:`MissingTools` with the exact ``sudo apt-get install`` line.
    """
    missing = [tool for tool in tools if find(tool) is None]
    if missing:
        command = install_command(missing)
        if not can_install():
            raise MissingTools(
                f"missing system tools: {', '.join(missing)}; install them with:\n"
                f"  sudo {shlex.join(command)}"
            )
        _apt_install(command)
    paths = {tool: find(tool) for tool in tools}
    still = [tool for tool, path in paths.items() if path is None]
    if still:
        raise MissingTools(f"still missing after apt-get install: {', '.join(still)}")
    return {tool: path for tool, path in paths.items() if path is not None}


def can_install() -> bool:
    """True when we may install packages ourselves: root on a machine with apt-get."""
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def _apt_install(command: list[str]) -> None:
    global _apt_updated
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with _apt_lock:
        print(f"installing with apt: {' '.join(command[4:])} ...", file=sys.stderr, flush=True)
        if not _apt_updated:
            _run(["apt-get", "update"], env)
            _apt_updated = True
        _run(command, env)


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise MissingTools(f"`{shlex.join(command)}` failed ({result.returncode}):\n{tail}")


def _version_key(folder: str) -> tuple[int, ...]:
    parts = folder.split(os.sep)
    digits = [p for p in parts if p.replace(".", "").isdigit()]
    return tuple(int(x) for x in digits[-1].split(".")) if digits else ()
