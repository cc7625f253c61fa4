"""Hostile HTTP: bad requests to every endpoint get a JSON 4xx naming the field, and
write nothing (no order row, no outbox row, no dead letter redriven or discarded, no
fault setting stored).

Each case is one request. Orders are priced from the catalogue (``conftest.CATALOGUE``):
a client price is checked, never used.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from django.contrib.auth.models import User
from django.test import Client

from gateway.middleware import BodySizeLimitASGI
from gateway.operations import bootstrap
from gateway.operations.models import DeadLetterRecord, DeadLetterStatus
from gateway.operations.publisher import FakePublisher
from gateway.operations.tests.factories import stored
from gateway.orders.models import Order
from gateway.outbox.models import OutboxMessage
from gateway.parsers import MAX_DEPTH

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalogue")]

GOOD: dict[str, Any] = {"userId": "user-1", "items": [{"productId": "prod-001", "quantity": 2}]}
LINE = {"productId": "prod-001", "quantity": 1}
JSON = "application/json"


def order(**change: Any) -> dict[str, Any]:
    return {**GOOD, **change}


def line(**change: Any) -> dict[str, Any]:
    return order(items=[{**LINE, **change}])


def three_lines(**third: Any) -> dict[str, Any]:
    return order(
        items=[
            {"productId": "prod-001", "quantity": 1},
            {"productId": "prod-002", "quantity": 1},
            {"productId": "p1", "quantity": 1, **third},
        ]
    )


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@dataclass(frozen=True)
class Bad:
    """One hostile request and the answer it must get."""

    method: str
    path: str
    status: int
    field: str
    body: Any = None  # JSON-encoded unless bytes
    content_type: str = JSON
    staff: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    def raw(self) -> bytes | None:
        if self.body is None:
            return None
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()


def orders(status: int, field: str, body: Any, **kw: Any) -> Bad:
    return Bad("POST", "/api/orders", status, field, body, **kw)


CASES: dict[str, Bad] = {
    # -- prices come from the catalogue ---------------------------------------------
    "price 0": orders(422, "items[0].price", line(price=0)),
    "price '0.00'": orders(422, "items[0].price", line(price="0.00")),
    "price mismatch": orders(422, "items[0].price", line(price=49.99)),
    "price above catalogue": orders(422, "items[0].price", line(price="50")),
    "price mismatch on the third line": orders(422, "items[2].price", three_lines(price=0.5)),
    "unknown product": orders(422, "items[0].productId", line(productId="prod-999")),
    "unknown product on the third line": orders(
        422, "items[2].productId", three_lines(productId="nope")
    ),
    "total overflow, amount omitted": orders(
        422, "amount", order(items=[{"productId": "prod-gold", "quantity": 2}])
    ),
    "total overflow, amount too long": orders(
        400, "amount", order(items=[{"productId": "prod-gold", "quantity": 2}], amount=1e20)
    ),
    "amount not the total": orders(400, "amount", order(amount="1.00")),
    "negative price": orders(400, "items[0].price", line(price=-1)),
    "price with 4 decimals": orders(400, "items[0].price", line(price="49.9950001")),
    "price true": orders(400, "items[0].price", line(price=True)),
    # -- strict types and bounds ----------------------------------------------------
    "huge quantity": orders(400, "items[0].quantity", line(quantity=10_001)),
    "400-digit quantity": orders(
        400,
        "items[0].quantity",
        b'{"userId": "u", "items": [{"productId": "prod-001", "quantity": 1' + b"0" * 400 + b"}]}",
    ),
    "quantity '3'": orders(400, "items[0].quantity", line(quantity="3")),
    "quantity 3.0": orders(400, "items[0].quantity", line(quantity=3.0)),
    "quantity true": orders(400, "items[0].quantity", line(quantity=True)),
    "quantity null": orders(400, "items[0].quantity", line(quantity=None)),
    "quantity 0": orders(400, "items[0].quantity", line(quantity=0)),
    "quantity -1": orders(400, "items[0].quantity", line(quantity=-1)),
    "userId 123": orders(400, "userId", order(userId=123)),
    "userId array": orders(400, "userId", order(userId=["user-1"])),
    "userId with NUL": orders(400, "userId", order(userId="user\u0000")),
    "userId with trailing newline": orders(400, "userId", order(userId="user-1\n")),
    "userId 65 characters": orders(400, "userId", order(userId="u" * 65)),
    "userId missing": orders(400, "userId", {"items": GOOD["items"]}),
    "productId 42": orders(400, "items[0].productId", line(productId=42)),
    "orderId with NUL": orders(400, "orderId", order(orderId="o\u0000")),
    "orderId 1,000 characters": orders(400, "orderId", order(orderId="o" * 1000)),
    "amount negative": orders(400, "amount", order(amount=-1)),
    "amount true": orders(400, "amount", order(amount=True)),
    "amount 'NaN'": orders(400, "amount", order(amount="NaN")),
    "currency XXX": orders(400, "currency", order(currency="XXX")),
    "currency usd": orders(400, "currency", order(currency="usd")),
    "currency ZZZ": orders(400, "currency", order(currency="ZZZ")),
    "currency 840": orders(400, "currency", order(currency=840)),
    "unknown field": orders(400, "discount", order(discount="100%")),
    "unknown field in a line": orders(400, "items[0].note", line(note="free")),
    "duplicate product lines": orders(
        400, "items[1].productId", order(items=[LINE, {**LINE, "quantity": 3}])
    ),
    "empty items": orders(400, "items", order(items=[])),
    "101 items": orders(
        400,
        "items",
        order(items=[{"productId": f"prod-{n:03}", "quantity": 1} for n in range(101)]),
    ),
    "items an object": orders(400, "items", order(items={"productId": "prod-001"})),
    "items null": orders(400, "items", order(items=None)),
    "a line that is a number": orders(400, "items[0]", order(items=[1])),
    "body an array": orders(400, "body", [GOOD]),
    "body a string": orders(400, "body", "order"),
    "empty object": orders(400, "userId", {}),
    "no body, no content type": orders(415, "Content-Type", b""),
    # -- the parser -----------------------------------------------------------------
    "1,000-deep nesting": orders(400, "body", nested(1000)),
    "1,000-deep nesting in a field": orders(
        400, "body", b'{"userId": ' + nested(1000) + b', "items": []}'
    ),
    "nesting one past the limit": orders(400, "body", nested(MAX_DEPTH + 1)),
    "invalid UTF-8": orders(400, "body", b'{"userId": "\xff\xfe", "items": []}'),
    "NaN literal": orders(400, "body", b'{"userId": "u", "amount": NaN, "items": []}'),
    "1e999": orders(400, "body", b'{"userId": "u", "amount": 1e999, "items": []}'),
    "trailing garbage": orders(400, "body", json.dumps(GOOD).encode() + b" {}"),
    "truncated JSON": orders(400, "body", b'{"userId": "u", "items": ['),
    "wrong content type": orders(415, "Content-Type", GOOD, content_type="text/plain"),
    "form content type": orders(
        415, "Content-Type", b"userId=u", content_type="application/x-www-form-urlencoded"
    ),
    "oversize body": orders(413, "body", order(pad="x" * 70_000)),
    "Idempotency-Key 300 characters": orders(
        400, "Idempotency-Key", GOOD, headers={"Idempotency-Key": "k" * 300}
    ),
    "Idempotency-Key with a space": orders(
        400, "Idempotency-Key", GOOD, headers={"Idempotency-Key": "a key"}
    ),
    # -- orders: reads --------------------------------------------------------------
    "order id NUL": Bad("GET", "/api/orders/%00", 404, "orderId"),
    "order id 5,000 characters": Bad("GET", "/api/orders/" + "x" * 5000, 404, "orderId"),
    "order id non-ASCII": Bad("GET", "/api/orders/%C3%A9", 404, "orderId"),
    "order id superscript two": Bad("GET", "/api/orders/%C2%B2", 404, "orderId"),
    "list status NOPE": Bad("GET", "/api/orders?status=NOPE", 400, "status"),
    "list status NUL": Bad("GET", "/api/orders?status=%00", 400, "status"),
    "list limit 0": Bad("GET", "/api/orders?limit=0", 400, "limit"),
    "list limit abc": Bad("GET", "/api/orders?limit=abc", 400, "limit"),
    "list limit superscript": Bad("GET", "/api/orders?limit=%C2%B2", 400, "limit"),
    "list offset 10**20": Bad("GET", "/api/orders?offset=" + "1" + "0" * 20, 400, "offset"),
    "list offset -1": Bad("GET", "/api/orders?offset=-1", 400, "offset"),
    "DELETE orders": Bad("DELETE", "/api/orders", 405, "method"),
    "PUT an order": Bad("PUT", "/api/orders/o-1", 405, "method", {"status": "COMPLETED"}),
    # -- products, analytics, health, metrics ---------------------------------------
    "POST products": Bad("POST", "/api/products", 405, "method", {"productId": "x"}),
    "top products window 2m": Bad("GET", "/api/analytics/top-products?window=2m", 400, "window"),
    "top products limit 1000": Bad("GET", "/api/analytics/top-products?limit=1000", 400, "limit"),
    "top products limit NUL": Bad("GET", "/api/analytics/top-products?limit=%00", 400, "limit"),
    "top products by NUL": Bad("GET", "/api/analytics/top-products?by=%00", 400, "by"),
    "pageviews window NUL": Bad("GET", "/api/analytics/pageviews?window=%00", 400, "window"),
    "no such route": Bad("GET", "/api/orders/a/b", 404, "path"),
    "no such metrics": Bad("GET", "/metrics/nope", 404, "path"),
    "health lookalike": Bad("GET", "/healthz", 404, "path"),
    # -- staff: the DLQ -------------------------------------------------------------
    "dlq superscript id": Bad("GET", "/api/ops/dlq/%C2%B2", 404, "id", staff=True),
    "dlq 5,000-digit id": Bad("GET", "/api/ops/dlq/" + "9" * 5000, 404, "id", staff=True),
    "dlq NUL id": Bad("GET", "/api/ops/dlq/%00", 404, "id", staff=True),
    "dlq id beyond bigint": Bad(
        "POST", "/api/ops/dlq/" + "9" * 20 + "/redrive", 404, "id", staff=True
    ),
    "dlq discard superscript id": Bad("POST", "/api/ops/dlq/%C2%B2/discard", 404, "id", staff=True),
    "dlq redrive bad UUID": Bad(
        "POST", "/api/ops/dlq/550e8400-e29b-41d4-a716-44665544000g/redrive", 404, "id", staff=True
    ),
    "dlq since garbage": Bad("GET", "/api/ops/dlq?since=yesterday", 400, "since", staff=True),
    "dlq since out of range": Bad(
        "GET", "/api/ops/dlq?since=0001-01-01T00:00:00%2B05:00", 400, "since", staff=True
    ),
    "dlq topic NUL": Bad("GET", "/api/ops/dlq?topic=%00", 400, "topic", staff=True),
    "dlq offset 10**20": Bad("GET", "/api/ops/dlq?offset=" + "9" * 20, 400, "offset", staff=True),
    "dlq status gone": Bad("GET", "/api/ops/dlq?status=gone", 400, "status", staff=True),
    "dlq redrive without filters": Bad(
        "POST", "/api/ops/dlq/redrive", 400, "filters", {}, staff=True
    ),
    "dlq redrive unknown field": Bad(
        "POST", "/api/ops/dlq/redrive", 400, "bogus", {"all": True, "bogus": 1}, staff=True
    ),
    "dlq redrive topic too long": Bad(
        "POST", "/api/ops/dlq/redrive", 400, "topic", {"topic": "t" * 200}, staff=True
    ),
    "dlq discard 1,000-deep": Bad(
        "POST", "/api/ops/dlq/discard", 400, "body", nested(1000), staff=True
    ),
    "dlq discard text/plain": Bad(
        "POST", "/api/ops/dlq/discard", 415, "Content-Type", b"all", "text/plain", staff=True
    ),
    "dlq anonymous": Bad("GET", "/api/ops/dlq", 401, "Authorization"),
    "dlq discard anonymous": Bad(
        "POST", "/api/ops/dlq/discard", 401, "Authorization", {"all": True}
    ),
    # -- staff: faults --------------------------------------------------------------
    "faults rate 2": Bad(
        "PUT", "/api/ops/faults/payment", 400, "failureRate", {"failureRate": 2}, staff=True
    ),
    "faults rate '0.5'": Bad(
        "PUT", "/api/ops/faults/payment", 400, "failureRate", {"failureRate": "0.5"}, staff=True
    ),
    "faults unknown field": Bad(
        "PUT", "/api/ops/faults/payment", 400, "nope", {"nope": 1}, staff=True
    ),
    "faults body an array": Bad("PUT", "/api/ops/faults/payment", 400, "body", [1], staff=True),
    "faults invalid UTF-8": Bad(
        "PUT", "/api/ops/faults/payment", 400, "body", b'{"\xff": 1}', staff=True
    ),
    "faults NUL service": Bad("PUT", "/api/ops/faults/%00", 404, "path", {}, staff=True),
    "faults anonymous": Bad("PUT", "/api/ops/faults/payment", 401, "Authorization", {}),
}


class Untouchable:
    """A Redis that must not be written."""

    def __init__(self) -> None:
        self.writes = 0

    def hgetall(self, key: str) -> dict[bytes, bytes]:
        return {}

    def hset(self, key: str, field: str, value: bytes) -> int:
        self.writes += 1
        return 1


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    """A cheap hasher: a staff user per case, not PBKDF2's half second each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff_auth(db: Any) -> dict[str, str]:
    User.objects.create_user("ops", password="s3cret-pw", is_staff=True)
    return basic("ops", "s3cret-pw")


def send(client: Client, bad: Bad, auth: dict[str, str]) -> Any:
    extra = {**(auth if bad.staff else {}), "headers": bad.headers}
    raw = bad.raw()
    if raw is None:
        return client.generic(bad.method, bad.path, **extra)
    return client.generic(bad.method, bad.path, raw, content_type=bad.content_type, **extra)


@pytest.mark.parametrize("bad", list(CASES.values()), ids=list(CASES))
def test_a_hostile_request_is_a_json_4xx_naming_the_field_and_writes_nothing(
    client: Client, staff_auth: dict[str, str], monkeypatch: pytest.MonkeyPatch, bad: Bad
) -> None:
    publisher, store = FakePublisher(), Untouchable()
    monkeypatch.setattr(bootstrap, "publisher", lambda: publisher)
    monkeypatch.setattr(bootstrap, "redis_client", lambda: store)
    pending = stored()

    response = send(client, bad, staff_auth)

    assert response.status_code == bad.status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= {"status", "type", "detail", "errors"}
    assert body["status"] == bad.status
    assert bad.field in [e["field"] for e in body["errors"]], body
    assert all(e["message"] for e in body["errors"])
    assert Order.objects.count() == 0
    assert OutboxMessage.objects.count() == 0
    assert publisher.sent == [] and store.writes == 0
    pending.refresh_from_db()
    assert pending.status == DeadLetterStatus.PENDING
    assert DeadLetterRecord.objects.count() == 1


def test_there_are_at_least_sixty_hostile_cases() -> None:
    assert len(CASES) >= 60


def test_a_good_order_is_priced_from_the_catalogue(client: Client) -> None:
    """The control: the same client that the cases above refuse is served."""
    response = client.post("/api/orders", GOOD, content_type=JSON)

    assert response.status_code == 202, response.json()
    assert response.json()["amount"] == "99.99"
    assert Order.objects.get().items == [
        {"productId": "prod-001", "quantity": 2, "price": "49.995"}
    ]


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_the_faults_api_with_redis_down_is_a_json_503(
    client: Client, staff_auth: dict[str, str], monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, socket_timeout=0.5)
    monkeypatch.setattr(bootstrap, "redis_client", lambda: down)

    if method == "GET":
        response = client.get("/api/ops/faults", **staff_auth)
    else:
        response = client.put(
            "/api/ops/faults/payment", {"failureRate": 0.5}, content_type=JSON, **staff_auth
        )

    assert response.status_code == 503
    assert response.json()["type"] == "redis_unavailable"
    assert [e["field"] for e in response.json()["errors"]] == ["redis"]


def test_a_login_without_its_csrf_token_is_a_json_403(db: Any) -> None:
    response = Client(enforce_csrf_checks=True).post("/login", {"username": "ops", "password": "x"})

    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "X-CSRFToken"


# -- the body limit at the ASGI layer, before the body is read -------------------------


async def _call(app: BodySizeLimitASGI, headers: list[tuple[bytes, bytes]], chunks: list[bytes]):
    sent: list[dict[str, Any]] = []
    received: list[int] = []

    async def receive() -> dict[str, Any]:
        received.append(1)
        n = len(received) - 1
        if n < len(chunks):
            return {"type": "http.request", "body": chunks[n], "more_body": n + 1 < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/orders", "headers": headers}
    await app(scope, receive, send)
    return sent, len(received)


async def _reading_app(scope: Any, receive: Any, send: Any) -> None:
    """Stands for Django's handler: reads the whole body, then answers (or gives up)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 202, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ([(b"content-length", b"70000")], 413),
        ([(b"content-length", b"9" * 40)], 400),
        ([(b"content-length", b"-1")], 400),
        ([(b"content-length", b"5"), (b"content-length", b"70000")], 400),
    ],
)
async def test_a_declared_oversize_body_is_refused_before_a_byte_is_read(headers, status):
    sent, reads = await _call(BodySizeLimitASGI(_reading_app, limit=65536), headers, [b"x"])

    assert reads == 0
    assert sent[0]["status"] == status
    assert json.loads(sent[1]["body"])["errors"][0]["field"] in ("body", "Content-Length")


async def test_a_chunked_body_is_cut_off_at_the_limit():
    chunks = [b"x" * 1000] * 100
    sent, reads = await _call(BodySizeLimitASGI(_reading_app, limit=4096), [], chunks)

    assert reads == 5
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["type"] == "payload_too_large"


async def test_a_body_within_the_limit_passes():
    sent, _ = await _call(
        BodySizeLimitASGI(_reading_app, limit=4096), [(b"content-length", b"2")], [b"{}"]
    )

    assert sent[0]["status"] == 202
