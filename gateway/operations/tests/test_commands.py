"""`manage.py dlq` (audited as cli:<user>) and `manage.py ensure_admin`."""

from __future__ import annotations

import getpass
import json
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from gateway.operations.models import AuditEntry, DeadLetterRecord
from gateway.operations.publisher import FakePublisher
from gateway.operations.tests.factories import stored

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("dlq", *args, stdout=out)
    return out.getvalue()


def test_list_prints_a_table_or_json_lines_with_filters() -> None:
    a = stored()
    stored(error_type="ContractError")

    table = run("list", "--error-type", "TimeoutError").splitlines()
    lines = run("list", "--json").splitlines()

    assert table[0].split() == [
        "id",
        "status",
        "failedAt",
        "originalTopic",
        "consumerGroup",
        "errorType",
        "attempts",
    ]
    assert len(table) == 2 and table[1].split()[0] == str(a.pk)
    assert [json.loads(x)["errorType"] for x in lines] == ["ContractError", "TimeoutError"]


def test_show_prints_the_detail_as_json() -> None:
    record = stored()
    body = json.loads(run("show", str(record.event_id)))
    assert body["id"] == record.pk and body["value"]["encoding"] == "json"
    with pytest.raises(CommandError, match="no dead letter"):
        run("show", "12345")


def test_redrive_and_discard_are_audited_as_the_cli_user(publisher: FakePublisher) -> None:
    one = stored()
    two = stored(consumer_group="saga")
    three = stored(consumer_group="saga")

    out = run("redrive", str(one.pk))
    bulk = run("discard", "--group", "saga")

    actor = f"cli:{getpass.getuser()}"
    assert f"1 redriven by {actor}" in out
    assert f"2 discarded by {actor}" in bulk
    assert [s.topic for s in publisher.sent] == ["orders.v1"]
    assert {r.status for r in DeadLetterRecord.objects.exclude(pk=one.pk)} == {"discarded"}
    assert [(e.action, e.actor) for e in AuditEntry.objects.order_by("id")] == [
        ("redrive", actor),
        ("discard", actor),
    ]
    assert sorted(r.pk for r in AuditEntry.objects.get(action="discard").records.all()) == [
        two.pk,
        three.pk,
    ]
    with pytest.raises(CommandError, match="already redriven"):
        run("redrive", str(one.pk))


def test_a_bulk_action_needs_filters_or_all() -> None:
    with pytest.raises(CommandError, match="--all"):
        run("discard")
    with pytest.raises(CommandError, match="not both"):
        run("discard", "1", "--all")


def test_ensure_admin_creates_then_updates_the_staff_user(monkeypatch: pytest.MonkeyPatch) -> None:
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    assert "not set" in out.getvalue() and not User.objects.exists()

    monkeypatch.setenv("ADMIN_USERNAME", "admin")
    monkeypatch.setenv("ADMIN_PASSWORD", "first-pw")
    call_command("ensure_admin", stdout=out)
    monkeypatch.setenv("ADMIN_PASSWORD", "second-pw")
    call_command("ensure_admin", stdout=out)

    [user] = User.objects.all()
    assert user.is_staff and user.check_password("second-pw")
    assert "created" in out.getvalue() and "updated" in out.getvalue()
