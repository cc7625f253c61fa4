"""The chaos API over a real control socket (a stand-in platform behind harness's
server), its refusals as JSON naming the field, and the charts' history ring."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dashboard import chaos, history
from gateway.operations import bootstrap
from harness.control import ControlServer

pytestmark = pytest.mark.django_db


class FakeRedis:
    """The list commands the history and the chaos record use."""

    def __init__(self) -> None:
        self.lists: dict[str, list[str]] = {}

    def rpush(self, key: str, *values: str) -> int:
        self.lists.setdefault(key, []).extend(values)
        return len(self.lists[key])

    def ltrim(self, key: str, start: int, end: int) -> None:
        items = self.lists.get(key, [])
        self.lists[key] = items[start:] if end == -1 else items[start : end + 1]

    def lrange(self, key: str, start: int, end: int) -> list[str]:
        return list(self.lists.get(key, []))

    def expire(self, key: str, seconds: int) -> None:
        pass

    def close(self) -> None:
        pass


class StandIn:
    """What the control server needs of a platform, recording what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def status(self) -> dict[str, Any]:
        rows = [("gateway", "gateway"), ("payment", "payment"), ("payment.2", "payment")]
        return {
            "processes": [
                {"name": n, "service": s, "state": "running", "restarts": 0, "pid": 1}
                for n, s in rows
            ],
            "env": {"DATABASE_URL": "secret"},
        }

    def scale(self, service: str, count: int) -> tuple[list[str], list[str]]:
        self.calls.append(("scale", (service, count)))
        if count > 3:
            raise RuntimeError(f"{service}: no more than 3 here")
        return [], []

    def stop_service(self, service: str) -> list[str]:
        return []

    def start_names(self, names: list[str]) -> None:
        pass

    def crash(self, name: str) -> int:
        self.calls.append(("kill", name))
        return 4242

    def restart(self, name: str) -> None:
        self.calls.append(("restart", name))

    def pause_service(self, service: str) -> list[str]:
        self.calls.append(("pause", service))
        return [service]

    def resume_service(self, service: str) -> list[str]:
        self.calls.append(("resume", service))
        return [service]


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> FakeRedis:
    fake = FakeRedis()
    monkeypatch.setattr(bootstrap, "redis_client", lambda: fake)
    return fake


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    stand_in = StandIn()
    with tempfile.TemporaryDirectory(prefix="ctl") as folder:
        sock = Path(folder) / "control.sock"
        monkeypatch.setenv("SAGACTL_CONTROL", str(sock))
        with ControlServer(stand_in, sock):  # type: ignore[arg-type]
            yield stand_in


@pytest.fixture
def staff() -> Client:
    User.objects.create_user("boss", password="pw", is_staff=True)
    client = Client(enforce_csrf_checks=True)
    client.login(username="boss", password="pw")
    client.get("/dashboard/ops")  # sets the CSRF cookie
    return client


def post(client: Client, body: Any) -> tuple[int, dict[str, Any]]:
    token = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else ""
    response = client.post(
        "/api/dashboard/chaos", body, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    return response.status_code, response.json()


def test_a_kill_goes_through_the_socket_and_is_recorded(
    staff: Client, platform: StandIn, store: FakeRedis
) -> None:
    code, body = post(staff, {"action": "kill", "process": "payment.2"})
    assert code == 200, body
    assert platform.calls == [("kill", "payment.2")]
    assert body["action"] == "kill" and body["target"] == "payment.2"
    assert body["result"]["pid"] == 4242 and "actor" not in body
    [entry] = chaos.recent(store, body["t"], 300)
    assert entry["action"] == "kill" and "actor" not in entry
    assert '"actor":"boss"' in store.lists[chaos.ACTIONS_KEY][0]


@pytest.mark.parametrize(
    ("body", "call"),
    [
        ({"action": "restart", "process": "payment"}, ("restart", "payment")),
        ({"action": "scale", "service": "payment", "count": 2}, ("scale", ("payment", 2))),
        ({"action": "pause", "service": "payment"}, ("pause", "payment")),
        ({"action": "resume", "service": "payment"}, ("resume", "payment")),
    ],
)
def test_restart_scale_pause_resume(
    staff: Client, platform: StandIn, store: FakeRedis, body: dict[str, Any], call: Any
) -> None:
    code, answer = post(staff, body)
    assert code == 200, answer
    assert platform.calls == [call]
    assert "env" not in answer["result"]  # the socket's infrastructure stays local


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({"action": "explode", "process": "payment"}, "action"),
        ({"action": "kill"}, "process"),
        ({"action": "kill", "process": "nope"}, "process"),
        ({"action": "kill", "process": "gateway"}, "process"),
        ({"action": "scale", "service": "payment"}, "count"),
        ({"action": "scale", "service": "payment", "count": 99}, "count"),
        ({"action": "scale", "service": "payment", "count": True}, "count"),
        ({"action": "pause", "service": "nope"}, "service"),
        ({"action": "pause", "service": "payment", "count": 1}, "count"),
        ({"action": "kill", "process": "payment", "pid": 1}, "pid"),
    ],
)
def test_bad_requests_name_the_field(
    staff: Client, platform: StandIn, store: FakeRedis, body: Any, field: str
) -> None:
    code, answer = post(staff, body)
    assert code == 400, answer
    assert answer["errors"][0]["field"] == field, answer
    assert platform.calls == [] and store.lists == {}


def test_a_refusal_of_the_platform_is_a_409_with_its_reason(
    staff: Client, platform: StandIn, store: FakeRedis
) -> None:
    code, answer = post(staff, {"action": "scale", "service": "payment", "count": 5})
    assert code == 409 and answer["type"] == "control_refused"
    assert "no more than 3" in answer["detail"] and answer["errors"][0]["field"] == "service"


def test_no_socket_configured_or_none_answering_is_a_503(
    staff: Client, store: FakeRedis, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SAGACTL_CONTROL", "off")
    code, answer = post(staff, {"action": "kill", "process": "payment"})
    assert code == 503 and answer["type"] == "control_unavailable"
    assert "SAGACTL_CONTROL=off" in answer["detail"]
    assert answer["errors"][0]["field"] == "SAGACTL_CONTROL"
    monkeypatch.setenv("SAGACTL_CONTROL", str(tmp_path / "none.sock"))
    code, answer = post(staff, {"action": "kill", "process": "payment"})
    assert code == 503 and "No platform answers" in answer["detail"]


def test_only_staff_with_a_csrf_token(platform: StandIn, store: FakeRedis) -> None:
    anonymous = Client(enforce_csrf_checks=True)
    assert post(anonymous, {"action": "kill", "process": "payment"})[0] == 401
    User.objects.create_user("viewer", password="pw")
    anonymous.login(username="viewer", password="pw")
    assert post(anonymous, {"action": "kill", "process": "payment"})[0] == 403
    User.objects.create_user("boss", password="pw", is_staff=True)
    no_token = Client(enforce_csrf_checks=True)
    no_token.login(username="boss", password="pw")
    response = no_token.post(
        "/api/dashboard/chaos", {"action": "kill", "process": "payment"}, "application/json"
    )
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert platform.calls == []


def test_history_keeps_a_bounded_window_of_samples() -> None:
    store = FakeRedis()
    status = {
        "at": "2026-12-03T12:00:00+00:00",
        "kpis": {
            "accepted": 10,
            "completed": 7,
            "cancelled": 2,
            "cancelledBy": {"out_of_stock": 2},
            "p50Ms": 40,
            "p99Ms": 900,
        },
        "groups": [{"group": "payment", "lag": 3}, {"group": "saga", "lag": 0}],
    }
    point = history.sample(status)
    assert point is not None
    assert point["lag"] == {"payment": 3, "saga": 0} and point["p99"] == 900
    assert history.sample({**status, "kpis": None}) is None
    t0 = point["t"]
    for i in range(history.KEEP + 50):  # one every 2 s: more than the ring and the window
        history.keep(store, {**point, "t": t0 + 2 * i})
    assert len(store.lists[history.HISTORY_KEY]) == history.KEEP
    now = t0 + 2 * (history.KEEP + 49)
    kept = history.recent(store, now)
    assert kept[-1]["t"] == now and all(now - p["t"] <= history.WINDOW_S for p in kept)
    assert len(kept) == history.WINDOW_S // 2 + 1


def test_the_history_endpoint_serves_samples_and_actions(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    import redis

    store = FakeRedis()
    now = time.time()
    history.keep(store, {"t": now - 1, "accepted": 1})
    history.keep(store, {"t": now - 400, "accepted": 0})  # outside the window
    chaos.record(store, {"t": now - 2, "action": "kill", "target": "payment", "actor": "boss"})
    monkeypatch.setattr(redis.Redis, "from_url", staticmethod(lambda *a, **k: store))
    body = client.get("/api/dashboard/history").json()
    assert [p["accepted"] for p in body["samples"]] == [1]
    assert body["actions"] == [{"t": now - 2, "action": "kill", "target": "payment"}]
    assert body["windowS"] == 300 and body["error"] is None


async def test_the_monitor_keeps_each_sample_and_sends_the_recent_actions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    import redis
    from channels.layers import get_channel_layer

    from dashboard.monitor import Monitor
    from gateway.projector.changes import GROUP
    from gateway.projector.versions import MemoryVersions

    store = FakeRedis()
    monkeypatch.setattr(redis.Redis, "from_url", staticmethod(lambda *a, **k: store))
    now = time.time()
    chaos.record(store, {"t": now - 5, "action": "kill", "target": "payment", "actor": "boss"})
    chaos.record(store, {"t": now - 900, "action": "kill", "target": "saga", "actor": "boss"})
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(GROUP, channel)
    monitor = Monitor([], "redis://127.0.0.1:1/0", MemoryVersions())
    status = {
        "type": "status",
        "at": "2026-12-03T12:00:00+00:00",
        "kpis": {"accepted": 3, "completed": 2, "cancelled": 0, "p50Ms": 9, "p99Ms": 20},
        "groups": [{"group": "payment", "lag": 1}],
    }
    status["sample"] = history.sample(status)
    await monitor.publish(status)  # the unreachable Redis of the status key is skipped
    sent = (await layer.receive(channel))["message"]
    assert sent["chaos"] == [{"t": now - 5, "action": "kill", "target": "payment"}]
    [kept] = [p for p in store.lrange(history.HISTORY_KEY, 0, -1)]
    assert '"lag":{"payment":1}' in kept and '"accepted":3' in kept
