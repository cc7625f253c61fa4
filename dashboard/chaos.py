"""Chaos controls for staff, when `sagactl run` runs the platform locally: kill a worker
(SIGKILL, as a crash: the supervisor restarts it), restart one, scale a group, pause or
resume a service, through the control socket (harness/control.py speaks the server
side; the dashboard speaks the one-line JSON protocol itself, as dashboard/processes.py
does). Each action is recorded (log line, and a bounded Redis list the monitor adds to
its status) so the charts and the map mark it.

`POST /api/dashboard/chaos` ``{"action": "kill", "process": "payment"}``, ``{"action":
"restart", "process": ...}``, ``{"action": "scale", "service": "payment", "count": 2}``,
``{"action": "pause" | "resume", "service": ...}``: staff only (HTTP basic, or the
session with its CSRF token); 503 when no control socket is configured
(``SAGACTL_CONTROL=off``, compose) or no platform answers on it; 400 naming the field of
a bad request; 409 with the platform's reason when it refuses.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import redis
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from contracts.control import exchange
from dashboard import settings
from dashboard.history import ListStore
from gateway.errors import Problem, field_error
from gateway.operations import bootstrap
from gateway.operations.apis import StaffApi

log = logging.getLogger("dashboard.chaos")

#: The Redis list of recorded actions, oldest first.
ACTIONS_KEY = "dashboard:chaos"
KEEP = 100
#: action -> (the field naming its target, the control request's op).
ACTIONS = {
    "kill": ("process", "kill"),
    "restart": ("process", "restart"),
    "scale": ("service", "scale"),
    "pause": ("service", "pause"),
    "resume": ("service", "resume"),
}
#: Services the controls leave alone: the gateway serves this very page and API.
PROTECTED = frozenset({"gateway"})
#: At most this many processes of one service.
MAX_SCALE = 6
#: Restarts and scaling wait until the new processes are ready.
TIMEOUT_S = 120.0


class ControlUnavailable(Problem):
    status_code = 503
    kind = "control_unavailable"


class ControlRefused(Problem):
    status_code = 409
    kind = "control_refused"


def _bad(field: str, message: str) -> Problem:
    return Problem(400, "invalid", message, [field_error(field, "invalid", message)])


def control_request(message: dict[str, Any], timeout: float = TIMEOUT_S) -> dict[str, Any]:
    """One request on the control socket: its answer, or `ControlUnavailable` /
    `ControlRefused` naming the setting or the platform's reason."""
    path = settings.load().control_path
    if path is None:
        raise ControlUnavailable(
            "No control socket is configured (SAGACTL_CONTROL=off): the chaos controls act "
            "on a platform run locally by `sagactl run`.",
            "SAGACTL_CONTROL",
        )
    try:
        answer = exchange(path, message, timeout)
    except (OSError, ValueError) as exc:
        raise ControlUnavailable(
            f"No platform answers on the control socket {path} ({type(exc).__name__}); "
            "the chaos controls need the platform run locally by `sagactl run`.",
            "SAGACTL_CONTROL",
        ) from None
    if not answer.get("ok"):
        field = "process" if "name" in message else "service" if "service" in message else "body"
        raise ControlRefused(str(answer.get("error") or "the platform refused"), field)
    return answer


def plan(body: Any, processes: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    """The control request of a chaos request and its target, checked against the
    platform's processes (``status``' list); `Problem` 400 naming the field otherwise."""
    if not isinstance(body, dict):
        raise _bad("body", "Must be a JSON object with an action.")
    action = body.get("action")
    if action not in ACTIONS:
        raise _bad("action", f"Unknown action {action!r}; actions: {', '.join(ACTIONS)}.")
    field, op = ACTIONS[action]
    extra = sorted(set(body) - {"action", field, "count"})
    if extra:
        raise _bad(extra[0], f"Unknown field; {action} takes {field}.")
    target = body.get(field)
    if not isinstance(target, str) or not target:
        raise _bad(field, f"{action} needs the {field} it acts on.")
    if field == "process":
        found = [p for p in processes if p.get("name") == target]
        if not found:
            names = ", ".join(str(p.get("name")) for p in processes)
            raise _bad("process", f"No process {target!r}; processes: {names}.")
        service = str(found[0].get("service"))
    else:
        services = sorted({str(p.get("service")) for p in processes})
        if target not in services:
            raise _bad("service", f"No service {target!r}; services: {', '.join(services)}.")
        service = target
    if service in PROTECTED:
        raise _bad(field, f"The {service} serves this dashboard; stop it from a terminal.")
    message: dict[str, Any] = {"op": op, ("name" if field == "process" else "service"): target}
    if action == "scale":
        count = body.get("count")
        if type(count) is not int or not 0 <= count <= MAX_SCALE:
            raise _bad("count", f"scale needs a whole count from 0 to {MAX_SCALE}.")
        message["count"] = count
    elif "count" in body:
        raise _bad("count", f"Unknown field; {action} takes {field}.")
    return message, target


def record(store: ListStore, entry: dict[str, Any]) -> None:
    """Keep an action (the newest ``KEEP``) for the monitor's status and the charts."""
    store.rpush(ACTIONS_KEY, json.dumps(entry, separators=(",", ":")))
    store.ltrim(ACTIONS_KEY, -KEEP, -1)


def recent(store: ListStore, now: float, window_s: float) -> list[dict[str, Any]]:
    """The actions of the last ``window_s`` seconds, oldest first, without who did them
    (the monitor's status goes to every browser)."""
    out = []
    for raw in store.lrange(ACTIONS_KEY, 0, -1):
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if isinstance(entry, dict) and now - float(entry.get("t", 0)) <= window_s:
            out.append({k: v for k, v in entry.items() if k != "actor"})
    return out


class ChaosApi(StaffApi):
    """`POST /api/dashboard/chaos`: one chaos action on the local platform (module doc)."""

    @extend_schema(
        operation_id="dashboard_chaos",
        request=dict,
        # 401/403: staff only (``StaffApi``); the schema's hook adds them to /api/ops/ only.
        responses={200: dict, 400: dict, 401: dict, 403: dict, 409: dict, 503: dict},
    )
    def post(self, request: Request) -> Response:
        status = control_request({"op": "status"}, timeout=5.0)
        message, target = plan(request.data, list(status.get("processes") or []))
        started = time.time()
        answer = control_request(message)
        entry = {
            "t": round(started, 3),
            "action": message["op"],  # each action is the op of the same name
            "target": target,
            "count": message.get("count"),
            "tookS": round(time.time() - started, 2),
            "actor": request.user.get_username(),
        }
        log.info("chaos: %s %s by %s", entry["action"], target, entry["actor"])
        try:
            record(bootstrap.redis_client(), entry)
        except redis.RedisError as exc:
            log.warning("chaos: the action was not recorded: %s", exc)
        answer.pop("ok", None)
        answer.pop("env", None)  # the socket's infrastructure addresses stay local
        return Response({**{k: v for k, v in entry.items() if k != "actor"}, "result": answer})
