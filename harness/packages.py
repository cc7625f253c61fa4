"""System tools the harness runs, found on PATH or installed with apt when we are root.

The servers ensure their own tools when they start (java, mvn, initdb, postgres,
redis-server). The tools the tests run themselves (`TEST_TOOLS`: node for the
dashboard's JS rules, chromium for the browser tier) are installed before any test
runs, by ``scripts/bootstrap --test-tools`` (``make test``, ``make test-fast``), which
calls ``python -m harness.packages``; tests only look them up with `require`.
"""

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
    "chromium": "chromium",
}

#: What tests run themselves; installed by ``scripts/bootstrap --test-tools``.
TEST_TOOLS = ("node", "chromium")

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


def require(tool: str) -> str:
    """The path of ``tool``, never installing it: for tests, which must not install."""
    path = find(tool)
    if path is None:
        raise MissingTools(
            f"{tool} is missing: `scripts/bootstrap --test-tools` (run by `make test` and"
            f" `make test-fast`) installs it, or: sudo {shlex.join(install_command([tool]))}"
        )
    return path


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


def main(argv: list[str] | None = None) -> int:
    """``python -m harness.packages [TOOL ...]``: ensure the tools (default `TEST_TOOLS`)."""
    tools = (sys.argv[1:] if argv is None else argv) or list(TEST_TOOLS)
    try:
        for tool, path in ensure(*tools).items():
            print(f"{tool}: {path}")
    except MissingTools as exc:
        print(f"harness.packages: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
