"""Property-based fuzzing of the HTTP API over its own OpenAPI schema (``/api/schema``),
with schemathesis, in process (WSGI) on the real PostgreSQL: no request may get a 5xx,
and every response must match the schema (status code, content type, body).

Every operation gets ``EXAMPLES`` generated requests, valid and invalid ones; the staff
API is called as a staff user (HTTP Basic). Request rates are off for the run (a fuzzer
is a burst; the throttles have tests of their own), Kafka and Redis are fakes (a
redrive is recorded, not produced).
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks as openapi

from gateway.operations import bootstrap
from gateway.operations.publisher import FakePublisher
from gateway.operations.tests.conftest import FakeRedis
from gateway.operations.tests.factories import stored

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db,
    pytest.mark.usefixtures("catalogue"),
]

#: Generated requests per operation and mode (valid, invalid): the run takes ~20 s.
EXAMPLES = 30
STAFF = ("fuzz-ops", "fuzz-ops-pw-31")
BASIC = "Basic " + base64.b64encode(":".join(STAFF).encode()).decode()
#: The checks that say "no 5xx and no schema violation".
CHECKED = [
    not_a_server_error,
    openapi.status_code_conformance,
    openapi.content_type_conformance,
    openapi.response_headers_conformance,
    openapi.response_schema_conformance,
]


@pytest.fixture
def quiet_platform(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    settings.ALLOWED_HOSTS = ["*"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            name: "off" for name in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        },
    }
    monkeypatch.setattr(bootstrap, "publisher", lambda: FakePublisher())
    monkeypatch.setattr(bootstrap, "redis_client", lambda: FakeRedis())
    User.objects.create_user(STAFF[0], password=STAFF[1], is_staff=True)
    # As Django's test client does: a request must not close the test's connection
    # (its transaction holds the test's rows; a new one cannot open in an atomic block).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_no_request_the_schema_allows_or_forbids_gets_a_5xx_or_breaks_the_schema(
    quiet_platform: None,
) -> None:
    for _ in range(3):
        stored()  # dead letters to find, redrive and discard
    schema = schemathesis.openapi.from_wsgi("/api/schema", get_wsgi_application())
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 10, [o.label for o in operations]
    for operation, mode in itertools.product(operations, GenerationMode):
        staff = {"Authorization": BASIC} if "/api/ops/" in operation.path else {}

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            case.call_and_validate(headers=staff, checks=CHECKED)  # noqa: B023 (run at once)

        try:
            run()
        except Unsatisfiable:
            # An operation without parameters or body has no invalid request to make.
            assert mode is GenerationMode.NEGATIVE, operation.label
        except (AssertionError, BaseExceptionGroup) as exc:  # every operation's, then all
            failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
