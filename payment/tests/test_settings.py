"""Payment settings read from the environment."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from payment.domain import DEFAULT_RETENTION, PaymentRules, Retention
from payment.settings import load


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "PAYMENT_GROUP",
        "PAYMENT_CREDIT_LIMIT",
        "PAYMENT_BLOCKED_USERS",
        "PAYMENT_DECLINE_RATE",
        "PAYMENT_DECLINE_SEED",
        "PAYMENT_RETENTION_SECONDS",
        "PAYMENT_PENDING_RETENTION_SECONDS",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = load()
    assert settings.group == "payment"
    assert settings.rules == PaymentRules()
    assert settings.rules.credit_limit == Decimal("5000.00")
    assert settings.rules.blocked_users == frozenset({"user-blocked"})
    assert settings.rules.decline_rate == 0.0
    assert settings.retention == DEFAULT_RETENTION
    assert settings.retention.settled == timedelta(minutes=10)


def test_the_retention_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENT_RETENTION_SECONDS", "30")
    monkeypatch.setenv("PAYMENT_PENDING_RETENTION_SECONDS", "3600.5")
    assert load().retention == Retention(
        settled=timedelta(seconds=30), pending=timedelta(seconds=3600.5)
    )


def test_every_rule_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENT_GROUP", "payment-demo")
    monkeypatch.setenv("PAYMENT_CREDIT_LIMIT", "250.50")
    monkeypatch.setenv("PAYMENT_BLOCKED_USERS", " eve, mallory ,,")
    monkeypatch.setenv("PAYMENT_DECLINE_RATE", "0.25")
    monkeypatch.setenv("PAYMENT_DECLINE_SEED", "s1")
    settings = load()
    assert settings.group == "payment-demo"
    assert settings.rules == PaymentRules(
        credit_limit=Decimal("250.50"),
        blocked_users=frozenset({"eve", "mallory"}),
        decline_rate=0.25,
        decline_seed="s1",
    )


def test_an_empty_block_list_blocks_nobody(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENT_BLOCKED_USERS", "")
    assert load().blocked_users == frozenset()


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("PAYMENT_CREDIT_LIMIT", "lots", "PAYMENT_CREDIT_LIMIT"),
        ("PAYMENT_CREDIT_LIMIT", "-1", "credit_limit"),
        ("PAYMENT_DECLINE_RATE", "half", "PAYMENT_DECLINE_RATE"),
        ("PAYMENT_DECLINE_RATE", "2", "decline_rate"),
        ("PAYMENT_RETENTION_SECONDS", "soon", "PAYMENT_RETENTION_SECONDS"),
        ("PAYMENT_RETENTION_SECONDS", "nan", "PAYMENT_RETENTION_SECONDS"),
        ("PAYMENT_RETENTION_SECONDS", "-1", "negative"),
        ("PAYMENT_PENDING_RETENTION_SECONDS", "60", "at least"),
    ],
)
def test_bad_values_fail_at_startup(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, match: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=match):
        load()
