"""The control channel of a running `sagactl run`: a Unix socket that scales, stops and
starts its processes on request (`sagactl scale`, `sagactl replay --stop-local`).

Protocol: the client connects, sends one JSON object on one line, reads one JSON line
back and closes. Requests: ``{"op": "status"}``, ``{"op": "scale", "service": "payment",
"count": 3}``, ``{"op": "stop", "service": "payment"}`` (every process of it),
``{"op": "start", "names": ["payment", "payment.2"]}``; for the dashboard's chaos
controls ``{"op": "kill", "name": "payment.2"}`` (SIGKILL as a crash: the restart policy
brings it back), ``{"op": "restart", "name": "payment"}`` (stop, start, wait until
ready), ``{"op": "pause", "service": "payment"}`` and ``{"op": "resume", ...}`` (SIGSTOP
and SIGCONT of every process of it). Answers carry ``"ok": true`` or
``"ok": false`` with an ``"error"``. A status lists every process with its ``state``
(running, paused, restarting, crash-looping, stopped) and its ``restarts`` (after crashes). The
socket is created with mode 0600: only the user who runs the platform can drive it.
Only local processes are managed; nothing here talks to Kafka.
"""

from __future__ import annotations

import contextlib
import json
import os
import socketserver
import threading
from pathlib import Path
from typing import Any, Protocol

from config.env import ROOT
from contracts.control import exchange

#: Where `sagactl run` listens unless ``SAGACTL_CONTROL`` or ``--control`` says otherwise.
DEFAULT_PATH = ROOT / "var" / "sagactl.sock"
ENV_VAR = "SAGACTL_CONTROL"


#: The requests `handle` answers.
OPS = ("status", "scale", "stop", "start", "kill", "restart", "pause", "resume")


class ControlError(RuntimeError):
    """No platform answers on the socket, or it refused the request."""


def default_path() -> Path:
    raw = os.environ.get(ENV_VAR, "").strip()
    return Path(raw) if raw else DEFAULT_PATH


class Controlled(Protocol):
    """What the server needs of a platform (`harness.runner.Platform` has it)."""

    def status(self) -> dict[str, Any]: ...

    def scale(self, service: str, count: int) -> tuple[list[str], list[str]]: ...

    def stop_service(self, service: str) -> list[str]: ...

    def start_names(self, names: list[str]) -> None: ...

    def crash(self, name: str) -> int: ...

    def restart(self, name: str) -> None: ...

    def pause_service(self, service: str) -> list[str]: ...

    def resume_service(self, service: str) -> list[str]: ...


def handle(platform: Controlled, request: dict[str, Any]) -> dict[str, Any]:
    """Answer one request (any exception becomes ``ok: false`` with its message)."""
    op = request.get("op")
    try:
        if op == "status":
            return {"ok": True, **platform.status()}
        if op == "scale":
            started, stopped = platform.scale(str(request["service"]), int(request["count"]))
            return {"ok": True, "started": started, "stopped": stopped, **platform.status()}
        if op == "stop":
            return {"ok": True, "stopped": platform.stop_service(str(request["service"]))}
        if op == "start":
            names = [str(n) for n in request["names"]]
            platform.start_names(names)
            return {"ok": True, "started": names}
        if op == "kill":
            name = str(request["name"])
            return {"ok": True, "killed": name, "pid": platform.crash(name)}
        if op == "restart":
            name = str(request["name"])
            platform.restart(name)
            return {"ok": True, "restarted": name}
        if op == "pause":
            return {"ok": True, "paused": platform.pause_service(str(request["service"]))}
        if op == "resume":
            return {"ok": True, "resumed": platform.resume_service(str(request["service"]))}
        return {"ok": False, "error": f"unknown op {op!r}; known: {', '.join(OPS)}"}
    except KeyError as exc:
        return {"ok": False, "error": f"request {op!r} lacks the field {exc}"}
    except Exception as exc:
        return {"ok": False, "error": str(exc) or type(exc).__name__}


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class ControlServer:
    """Serves `handle` on a Unix socket in background threads, a thread per request: a
    status is answered while a scale or restart waits for its processes to be ready (the
    platform serialises its changes itself)."""

    def __init__(self, platform: Controlled, path: Path) -> None:
        self.path = path
        self._platform = platform
        self._server: socketserver.UnixStreamServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ControlServer:
        if self.path.exists():
            if answers(self.path):
                raise ControlError(
                    f"another platform already listens on {self.path}; stop it, or give this "
                    f"one another socket with --control or {ENV_VAR}"
                )
            self.path.unlink()  # left behind by a platform that was killed
        self.path.parent.mkdir(parents=True, exist_ok=True)
        platform = self._platform

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                line = self.rfile.readline()
                try:
                    request = json.loads(line)
                    answer = handle(platform, request if isinstance(request, dict) else {})
                except json.JSONDecodeError as exc:
                    answer = {"ok": False, "error": f"not JSON: {exc}"}
                # A client that stopped waiting (a status poll's short timeout) is gone.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(json.dumps(answer).encode() + b"\n")

        old = os.umask(0o177)
        try:
            self._server = _Server(str(self.path), Handler)
        finally:
            os.umask(old)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sagactl-control", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def __enter__(self) -> ControlServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def request(path: Path, message: dict[str, Any], timeout: float = 300.0) -> dict[str, Any]:
    """Send one request; return the answer, or raise `ControlError` (no platform there,
    or ``ok: false``). Scaling waits until new workers are ready, hence the long timeout."""
    try:
        answer = exchange(path, message, timeout)
    except (FileNotFoundError, ConnectionRefusedError) as exc:
        raise ControlError(
            f"no running platform answers on {path} ({type(exc).__name__}); start one with "
            "`sagactl run` (or `make run`), or point --control / "
            f"{ENV_VAR} at its socket"
        ) from None
    except OSError as exc:
        raise ControlError(f"control socket {path}: {exc}") from None
    if not answer.get("ok"):
        raise ControlError(str(answer.get("error", "the platform gave no answer")))
    return dict(answer)


def answers(path: Path) -> bool:
    """True if a platform answers a status request on ``path``."""
    try:
        request(path, {"op": "status"}, timeout=5.0)
    except (ControlError, ValueError):
        return False
    return True
