"""Deployment defaults (issue 12, finding 8): production settings pass
``manage.py check --deploy`` with no warning, and no process starts with DEBUG off on a
public or weak SECRET_KEY."""

from __future__ import annotations

import os
import runpy
import secrets
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from gateway import settings as gateway_settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "gateway" / "settings.py"
OLD_DEFAULT = "dev-only-insecure-key-set-DJANGO_SECRET_KEY"


def environment(**values: str) -> dict[str, str]:
    """This process's environment without any Django or gateway setting, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GATEWAY_"))}
    return {**env, **values}


def production(**values: str) -> dict[str, str]:
    chosen = {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)[:50],
        "DJANGO_HTTPS": "1",
        "DJANGO_ALLOWED_HOSTS": "orders.example.com",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://orders.example.com",
        "DJANGO_SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto: https",
    }
    return environment(**{**chosen, **values})


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_with(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> dict[str, Any]:
    """Run the settings module afresh in ``env`` (what a new process would get)."""
    for name in list(os.environ):
        if name.startswith(("DJANGO_", "GATEWAY_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith(("DJANGO_", "GATEWAY_")):
            monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS))


def test_production_settings_pass_check_deploy_with_zero_warnings() -> None:
    done = manage(production(), "check", "--deploy", "--fail-level", "WARNING")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout
    assert "WARNING" not in done.stderr + done.stdout


def test_the_public_default_secret_key_with_debug_off_is_refused_at_start() -> None:
    done = manage(environment(DJANGO_DEBUG="0", DJANGO_SECRET_KEY=OLD_DEFAULT), "check")

    assert done.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY: DJANGO_SECRET_KEY is a public default" in (
        done.stderr
    )


@pytest.mark.parametrize(
    "key",
    [
        OLD_DEFAULT,
        "compose-demo-only-change-me",
        "short-but-random-Xq81",
        "django-insecure-" + secrets.token_urlsafe(50),
        "ab" * 40,
    ],
)
def test_a_public_or_weak_key_is_refused_with_debug_off(
    monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY"):
        settings_with(monkeypatch, {"DJANGO_SECRET_KEY": key})


def test_debug_still_runs_on_a_weak_key(monkeypatch: pytest.MonkeyPatch) -> None:
    found = settings_with(monkeypatch, {"DJANGO_DEBUG": "1", "DJANGO_SECRET_KEY": OLD_DEFAULT})
    assert found["SECRET_KEY"] == OLD_DEFAULT and found["DEBUG"] is True


def test_https_needs_an_explicit_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY is not set and DJANGO_HTTPS"):
        settings_with(monkeypatch, {"DJANGO_HTTPS": "1"})


def test_without_a_key_each_checkout_generates_and_keeps_its_own(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret_key"

    first = gateway_settings._local_secret_key(path)
    again = gateway_settings._local_secret_key(path)

    assert first == again and not gateway_settings.weak_secret_key(first)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]


def test_the_https_switch_and_the_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    on = settings_with(monkeypatch, production())
    off = settings_with(monkeypatch, environment(DJANGO_SECRET_KEY=secrets.token_urlsafe(50)))

    assert on["SECURE_SSL_REDIRECT"] and on["SESSION_COOKIE_SECURE"] and on["CSRF_COOKIE_SECURE"]
    assert on["SECURE_HSTS_SECONDS"] == 31_536_000
    assert on["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert on["CSRF_TRUSTED_ORIGINS"] == ["https://orders.example.com"]
    assert not (off["SECURE_SSL_REDIRECT"] or off["SESSION_COOKIE_SECURE"])
    assert off["SECURE_HSTS_SECONDS"] == 0 and off["SECURE_PROXY_SSL_HEADER"] is None
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECURE_PROXY_SSL_HEADER"):
        settings_with(monkeypatch, production(DJANGO_SECURE_PROXY_SSL_HEADER="https"))
