"""The staff surface against a browser-borne attacker and password guessing (issue 12,
finding 7), and the request rates of the anonymous endpoints (finding 8)."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client

from contracts import topics
from gateway import health
from gateway.operations import metrics
from gateway.operations.kafka_figures import KafkaFigures
from gateway.operations.models import DeadLetterRecord
from gateway.operations.tests.conftest import basic
from gateway.operations.tests.factories import stored
from gateway.outbox.models import OutboxMessage
from gateway.throttles import parse_rate

pytestmark = pytest.mark.django_db

CROSS_SITE = {"HTTP_ORIGIN": "https://evil.example", "HTTP_SEC_FETCH_SITE": "cross-site"}
SAME_ORIGIN = {
    "HTTP_ORIGIN": "http://testserver",
    "HTTP_SEC_FETCH_SITE": "same-origin",
    "HTTP_SEC_FETCH_MODE": "cors",
}
EMPTY_FORM = {"data": "", "content_type": "application/x-www-form-urlencoded"}


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    """A cheap hasher: the lockout is about counting, not PBKDF2's half second."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def rates(settings: Any, **scopes: str) -> None:
    """Override some throttle rates for one test."""
    framework = dict(settings.REST_FRAMEWORK)
    framework["DEFAULT_THROTTLE_RATES"] = {**framework["DEFAULT_THROTTLE_RATES"], **scopes}
    settings.REST_FRAMEWORK = framework


def error_of(response: Any) -> tuple[int, str, list[str]]:
    body = response.json()
    return response.status_code, body["type"], [e["field"] for e in body["errors"]]


def pending() -> int:
    return DeadLetterRecord.objects.filter(status="pending").count()


# -- cross-site requests and HTTP Basic from browsers --------------------------------


def test_a_cross_site_empty_form_post_with_cached_basic_discards_nothing(
    staff_client: Client,
) -> None:
    stored()
    stored()

    fetch_metadata = staff_client.post("/api/ops/dlq/discard?all=true", **EMPTY_FORM, **CROSS_SITE)
    origin_only = staff_client.post(
        "/api/ops/dlq/discard?all=true", **EMPTY_FORM, HTTP_ORIGIN="https://evil.example"
    )
    null_origin = staff_client.post("/api/ops/dlq/discard", **EMPTY_FORM, HTTP_ORIGIN="null")
    same_site = staff_client.post(
        "/api/ops/dlq/discard", **EMPTY_FORM, HTTP_SEC_FETCH_SITE="same-site"
    )

    assert error_of(fetch_metadata) == (403, "cross_site_request", ["Sec-Fetch-Site"])
    assert error_of(origin_only) == (403, "cross_site_request", ["Origin"])
    assert error_of(null_origin) == (403, "cross_site_request", ["Origin"])
    assert error_of(same_site) == (403, "cross_site_request", ["Sec-Fetch-Site"])
    assert pending() == 2


def test_a_cross_site_put_of_the_faults_is_refused_too(staff_client: Client) -> None:
    response = staff_client.put(
        "/api/ops/faults/payment",
        json.dumps({"failureRate": 1}),
        content_type="application/json",
        **CROSS_SITE,
    )
    assert error_of(response) == (403, "cross_site_request", ["Sec-Fetch-Site"])


def test_basic_is_not_accepted_for_a_browsers_unsafe_request(staff_client: Client) -> None:
    record = stored()

    response = staff_client.post(f"/api/ops/dlq/{record.pk}/discard", **SAME_ORIGIN)
    reading = staff_client.get("/api/ops/dlq", **SAME_ORIGIN)

    assert error_of(response) == (403, "basic_auth_refused", ["Authorization"])
    assert "/login" in response.json()["detail"]
    assert reading.status_code == 200  # reading is fine: another site cannot see it
    assert pending() == 1


def test_the_dashboard_session_with_its_csrf_token_still_acts(staff: dict[str, str]) -> None:
    record = stored()
    browser = Client(enforce_csrf_checks=True)
    browser.login(username="ops", password="s3cret-pw")
    token = _get_new_csrf_string()
    browser.cookies["csrftoken"] = token

    # A browser that once answered a Basic challenge sends it along: the session decides.
    response = browser.post(
        f"/api/ops/dlq/{record.pk}/discard",
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
        **SAME_ORIGIN,
        **staff,
    )
    without_token = browser.post(
        "/api/ops/dlq/discard", {"all": True}, content_type="application/json", **SAME_ORIGIN
    )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "discarded"
    assert without_token.status_code == 403 and "CSRF" in without_token.json()["detail"]


def test_scripts_keep_using_basic_with_a_json_body(staff_client: Client) -> None:
    stored()
    response = staff_client.post(
        "/api/ops/dlq/discard", json.dumps({"all": True}), content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["discarded"] == 1


def test_bulk_actions_refuse_anything_but_a_json_body(staff_client: Client) -> None:
    stored()

    empty_form = staff_client.post("/api/ops/dlq/discard", **EMPTY_FORM)
    query_only = staff_client.post("/api/ops/dlq/redrive?all=true", **EMPTY_FORM)
    query_and_body = staff_client.post(
        "/api/ops/dlq/discard?all=true", json.dumps({}), content_type="application/json"
    )
    a_list = staff_client.post(
        "/api/ops/dlq/discard", json.dumps([1]), content_type="application/json"
    )

    assert error_of(empty_form) == (400, "validation_error", ["body"])
    assert '{"all": true}' in empty_form.json()["errors"][0]["message"]
    assert error_of(query_only) == (400, "validation_error", ["all"])
    assert error_of(query_and_body) == (400, "validation_error", ["all"])
    assert error_of(a_list) == (400, "validation_error", ["body"])
    assert pending() == 1


# -- password guessing ---------------------------------------------------------------


def test_login_is_throttled_after_the_failures_of_an_address(
    settings: Any, staff: dict[str, str]
) -> None:
    rates(settings, password="3/15m")
    browser = Client()

    failures = [browser.post("/login", {"username": "ops", "password": "wrong"}) for _ in range(3)]
    locked = browser.post("/login", {"username": "ops", "password": "wrong"})
    right = browser.post("/login", {"username": "ops", "password": "s3cret-pw"})
    elsewhere = Client(REMOTE_ADDR="10.0.0.9").post(
        "/login", {"username": "ops", "password": "s3cret-pw"}
    )

    assert [r.status_code for r in failures] == [200, 200, 200]  # the form, with its error
    assert error_of(locked) == (429, "throttled", ["rate"])
    assert 0 < int(locked["Retry-After"]) <= 900
    assert right.status_code == 429  # no password is checked while locked
    assert elsewhere.status_code == 302  # another address is not locked out


def test_successful_logins_do_not_use_up_the_budget(settings: Any, staff: dict[str, str]) -> None:
    rates(settings, password="2/15m")
    browser = Client()
    for _ in range(4):
        assert (
            browser.post("/login", {"username": "ops", "password": "s3cret-pw"}).status_code == 302
        )
        browser.logout()


def test_the_default_password_budget_is_ten_per_quarter_hour(settings: Any) -> None:
    assert parse_rate(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["password"]) == (10, 900)


def test_failed_basic_attempts_lock_the_address_out_without_hashing(
    settings: Any, staff: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rates(settings, password="3/15m")
    client = Client()
    wrong = [client.get("/api/ops/dlq", **basic("ops", f"guess-{n}")) for n in range(3)]
    hashed: list[str] = []
    monkeypatch.setattr(User, "check_password", lambda self, raw: hashed.append(raw) or True)

    locked = client.get("/api/ops/dlq", **staff)

    assert [r.status_code for r in wrong] == [401, 401, 401]
    assert error_of(locked) == (429, "throttled", ["rate"]) and "Retry-After" in locked
    assert hashed == []


# -- request rates ---------------------------------------------------------------------


def test_the_staff_api_has_a_rate_per_user(settings: Any, staff_client: Client) -> None:
    rates(settings, staff="2/m")
    codes = [staff_client.get("/api/ops/dlq").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_the_anonymous_api_has_a_rate_per_client(settings: Any) -> None:
    rates(settings, anon="2/m")
    first, second, third = (Client().get("/api/products") for _ in range(3))
    other = Client(REMOTE_ADDR="10.0.0.7").get("/api/products")

    assert (first.status_code, second.status_code) == (200, 200)
    assert error_of(third) == (429, "throttled", ["rate"]) and "Retry-After" in third
    assert other.status_code == 200


def test_forwarded_for_is_not_trusted_without_declared_proxies(settings: Any) -> None:
    rates(settings, anon="1/m")
    client = Client()
    assert client.get("/api/products", HTTP_X_FORWARDED_FOR="1.1.1.1").status_code == 200
    assert client.get("/api/products", HTTP_X_FORWARDED_FOR="2.2.2.2").status_code == 429


def test_metrics_read_the_broker_once_per_few_seconds_and_are_throttled(
    settings: Any, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    rates(settings, public="3/m")
    reads: list[int] = []

    def read() -> KafkaFigures:
        reads.append(1)
        return KafkaFigures(error="KafkaConnectionError: down")

    monkeypatch.setattr(metrics, "_read_broker", read)
    answers = [client.get("/metrics/dlq"), client.get("/metrics"), client.get("/metrics/dlq")]
    throttled = client.get("/metrics")

    assert [r.status_code for r in answers] == [200, 200, 200]
    assert answers[2].json()["retries"]["error"] == "KafkaConnectionError: down"
    assert reads == [1]  # a failed reading is reused too
    assert error_of(throttled) == (429, "throttled", ["rate"])


def test_ready_probes_the_broker_once_per_few_seconds(
    settings: Any, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    probes: list[int] = []

    def probe() -> Exception | None:
        probes.append(1)
        return ConnectionError("broker down")

    monkeypatch.setattr(health, "_kafka_probe", probe)
    monkeypatch.setitem(health.CHECKS, "redis", lambda: None)
    first, second = client.get("/ready"), client.get("/ready")

    assert first.status_code == second.status_code == 503
    assert second.json()["checks"]["kafka"]["error"] == "ConnectionError: broker down"
    assert probes == [1]


def test_the_index_records_page_views_up_to_a_rate_per_client(
    settings: Any, client: Client
) -> None:
    rates(settings, page_views="2/m")
    codes = [client.get("/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 200]
    assert OutboxMessage.objects.filter(topic=topics.PAGEVIEWS.name).count() == 2


# -- the staff user's password ----------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [("a", "too short"), ("password123", "too common"), ("1234567890", "entirely numeric")],
)
def test_ensure_admin_refuses_a_weak_password(
    monkeypatch: pytest.MonkeyPatch, password: str, reason: str
) -> None:
    monkeypatch.setenv("ADMIN_USERNAME", "admin")
    monkeypatch.setenv("ADMIN_PASSWORD", password)
    with pytest.raises(CommandError, match="ADMIN_PASSWORD is refused") as refused:
        call_command("ensure_admin", stdout=StringIO())
    assert reason in str(refused.value)
    assert not User.objects.exists()
