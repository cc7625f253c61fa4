"""Notification settings read from the environment."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notification.senders import ConsoleSender, EmailConfig, EmailSender
from notification.settings import load

NAMES = (
    "NOTIFICATION_GROUP",
    "NOTIFICATION_SENDER",
    "NOTIFICATION_EMAIL_DOMAIN",
    "NOTIFICATION_RETENTION_SECONDS",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "DEFAULT_FROM_EMAIL",
)


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    settings = load()
    assert settings.group == "notification"
    assert settings.sender == "console"
    assert isinstance(settings.make_sender(), ConsoleSender)
    assert settings.retention == timedelta(days=1)
    assert settings.email == EmailConfig(
        host="localhost", port=25, from_email="orders@example.com", domain="example.com"
    )


def test_email_is_configured_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFICATION_GROUP", "notification-demo")
    monkeypatch.setenv("NOTIFICATION_SENDER", "email")
    monkeypatch.setenv("NOTIFICATION_EMAIL_DOMAIN", "shop.test")
    monkeypatch.setenv("NOTIFICATION_RETENTION_SECONDS", "120")
    monkeypatch.setenv("EMAIL_HOST", "smtp.shop.test")
    monkeypatch.setenv("EMAIL_PORT", "587")
    monkeypatch.setenv("EMAIL_HOST_USER", "mailer")
    monkeypatch.setenv("EMAIL_HOST_PASSWORD", " secret ")
    monkeypatch.setenv("EMAIL_USE_TLS", "true")
    settings = load()
    assert settings.group == "notification-demo"
    assert settings.retention == timedelta(minutes=2)
    assert settings.email == EmailConfig(
        host="smtp.shop.test",
        port=587,
        user="mailer",
        password=" secret ",
        use_tls=True,
        from_email="orders@shop.test",
        domain="shop.test",
    )
    assert isinstance(settings.make_sender(), EmailSender)
    monkeypatch.setenv("DEFAULT_FROM_EMAIL", "Shop <no-reply@shop.test>")
    assert load().email.from_email == "Shop <no-reply@shop.test>"


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("NOTIFICATION_SENDER", "pigeon", "NOTIFICATION_SENDER"),
        ("NOTIFICATION_RETENTION_SECONDS", "-5", "NOTIFICATION_RETENTION_SECONDS"),
        ("NOTIFICATION_RETENTION_SECONDS", "a day", "NOTIFICATION_RETENTION_SECONDS"),
        ("EMAIL_PORT", "smtp", "EMAIL_PORT"),
        ("EMAIL_USE_TLS", "maybe", "EMAIL_USE_TLS"),
    ],
)
def test_bad_values_fail_at_startup(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, match: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=match):
        load()
