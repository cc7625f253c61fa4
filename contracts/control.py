"""The control socket's wire format, shared by its server (``harness.control``) and its
clients (``sagactl``, the dashboard's process grid and chaos controls): one JSON object
per line each way, over a Unix socket. What the operations are and answer:
``harness.control.handle``."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any


def exchange(path: Path, message: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Send ``message`` on the socket at ``path`` and return the answer object.

    Raises ``OSError`` when nothing answers there (``FileNotFoundError``,
    ``ConnectionRefusedError``, a timeout) and ``ValueError`` when the answer is not a
    JSON object."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(json.dumps(message).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    answer = json.loads(data or b"{}")
    if not isinstance(answer, dict):
        raise ValueError("the control socket's answer is not a JSON object")
    return answer
