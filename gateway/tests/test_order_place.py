"""``POST /api/orders`` served without DRF's dispatch (``OrderCollectionApi._place``, for a
plain ``Accept``) answers what DRF's dispatch answers (any other ``Accept``): the same
status, body and headers, for every kind of answer."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from rest_framework.views import APIView

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalogue")]

#: Not plain: DRF's negotiation runs (and picks the same JSON renderer).
NEGOTIATED = "application/json;q=0.9, text/plain;q=0.5"
ORDER = {"userId": "user-1", "items": [{"productId": "p1", "quantity": 2}]}


def send(
    client: Client,
    body: Any,
    *,
    accept: str | None,
    content_type: str = "application/json",
    **headers: str,
) -> tuple[int, dict[str, str], bytes]:
    raw = body if isinstance(body, str) else json.dumps(body)
    if accept is not None:
        headers["Accept"] = accept
    response = client.post("/api/orders", raw, content_type=content_type, headers=headers)
    return response.status_code, dict(response.headers), response.content


CASES: dict[str, tuple[Any, str, dict[str, str]]] = {
    "malformed JSON": ("{not json", "application/json", {}),
    "JSON null": ("null", "application/json", {}),
    "no body": ("", "application/json", {}),
    "another media type": (json.dumps(ORDER), "text/plain", {}),
    "a longer media type": (json.dumps(ORDER), "application/jsonx", {}),
    "with a charset": ("{not json", "application/json; charset=utf-8", {}),
    "wrong types and unknown fields": (
        {"userId": 5, "items": [{"productId": "p1", "quantity": "2"}], "x": 1},
        "application/json",
        {},
    ),
    "an unknown product": (
        {"userId": "u", "items": [{"productId": "nope", "quantity": 1}]},
        "application/json",
        {},
    ),
    "a wrong price": (
        {"userId": "u", "items": [{"productId": "p1", "quantity": 1, "price": "2.00"}]},
        "application/json",
        {},
    ),
    "a bad idempotency key": (ORDER, "application/json", {"Idempotency-Key": "a b"}),
    "nested too deep": ("[" * 40 + "]" * 40, "application/json", {}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refusals_are_the_same_as_drfs(client: Client, case: str) -> None:
    body, content_type, headers = CASES[case]

    lean = send(client, body, accept=None, content_type=content_type, **headers)
    drf = send(client, body, accept=NEGOTIATED, content_type=content_type, **headers)

    assert lean[0] >= 400
    assert lean == drf


def test_an_accepted_order_and_its_replay_are_the_same_as_drfs(client: Client) -> None:
    def both(suffix: str) -> list[tuple[int, dict[str, str], dict[str, Any]]]:
        """Each path's answer, its order id and times made alike."""
        out = []
        for accept, name in ((None, "lean"), (NEGOTIATED, "drf")):
            order_id = f"place-{name}"
            body = {**ORDER, "orderId": order_id}
            status, headers, content = send(
                client, body, accept=accept, **{"Idempotency-Key": f"key-{name}{suffix}"}
            )
            headers["Location"] = headers["Location"].replace(order_id, "ID")
            headers.pop("Content-Length")
            answer = json.loads(content.replace(order_id.encode(), b"ID"))
            answer.update({k: "T" for k in answer if k.endswith("At")})
            out.append((status, headers, answer))
        return out

    lean, drf = both("")
    assert lean[0] == 202 and lean == drf  # headers with Location, Allow
    lean, drf = both("")
    assert "Idempotent-Replayed" in lean[1] and lean == drf
    lean, drf = both("-other")  # the same order id under another key: a repeat too
    assert lean == drf


def test_a_conflicting_repeat_is_the_same_as_drfs(client: Client) -> None:
    send(client, {**ORDER, "orderId": "conflict"}, accept=None, **{"Idempotency-Key": "k1"})
    other = {**ORDER, "orderId": "conflict", "userId": "user-2"}

    lean = send(client, other, accept=None, **{"Idempotency-Key": "k1"})
    drf = send(client, other, accept=NEGOTIATED, **{"Idempotency-Key": "k1"})

    assert lean[0] == 422 and lean == drf


def test_the_throttle_refuses_the_same_as_drf(client: Client, settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]}
        | {"anon": "1/h"},
    }
    refused = []
    for accept, address in ((None, "10.9.0.1"), (NEGOTIATED, "10.9.0.2")):
        for n in range(2):
            body = {**ORDER, "orderId": f"throttled-{address}-{n}"}
            answer = client.post(
                "/api/orders",
                json.dumps(body),
                content_type="application/json",
                headers={"Accept": accept} if accept else {},
                REMOTE_ADDR=address,
            )
        refused.append(answer)

    lean, drf = refused
    assert lean.status_code == drf.status_code == 429
    seconds = re.compile(rb"\d+ seconds")
    assert seconds.sub(b"N seconds", lean.content) == seconds.sub(b"N seconds", drf.content)
    assert abs(int(lean["Retry-After"]) - int(drf["Retry-After"])) <= 1
    assert lean.json()["errors"][0]["field"] == "rate"


def test_a_plain_accept_skips_drfs_dispatch_and_any_other_takes_it(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered: list[str] = []
    original = APIView.initial

    def initial(self: APIView, request: Any, *args: Any, **kwargs: Any) -> None:
        entered.append(request.META.get("HTTP_ACCEPT", "-"))
        original(self, request, *args, **kwargs)

    monkeypatch.setattr(APIView, "initial", initial)
    for accept in (None, "*/*", "application/json", NEGOTIATED, "text/html"):
        send(client, {**ORDER, "orderId": f"route-{len(entered)}-{accept}"}, accept=accept)
    client.post("/api/orders?format=json", json.dumps(ORDER), content_type="application/json")

    assert entered == [NEGOTIATED, "text/html", "-"]
