"""The notification worker's settings, read from the environment."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import timedelta

from config.env import PlatformSettings
from notification.domain import DEFAULT_RETENTION
from notification.senders import ConsoleSender, EmailConfig, EmailSender, Sender

SENDERS = ("console", "email")


def _raw(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None else value.strip()


def _seconds(name: str, default: timedelta) -> timedelta:
    raw = _raw(name, "")
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}={raw!r} is not a number of seconds")
    return timedelta(seconds=value)


def _flag(name: str) -> bool:
    raw = _raw(name, "").lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{name}={raw!r} is not a boolean (true/false)")


def _email() -> EmailConfig:
    domain = _raw("NOTIFICATION_EMAIL_DOMAIN", "") or "example.com"
    port = _raw("EMAIL_PORT", "") or "25"
    if not port.isdigit():
        raise ValueError(f"EMAIL_PORT={port!r} is not a port number")
    return EmailConfig(
        host=_raw("EMAIL_HOST", "") or "localhost",
        port=int(port),
        user=_raw("EMAIL_HOST_USER", ""),
        password=os.environ.get("EMAIL_HOST_PASSWORD", ""),
        use_tls=_flag("EMAIL_USE_TLS"),
        from_email=_raw("DEFAULT_FROM_EMAIL", "") or f"orders@{domain}",
        domain=domain,
    )


@dataclass(frozen=True)
class NotificationSettings:
    """Configuration of one notification worker process."""

    platform: PlatformSettings = field(default_factory=PlatformSettings)
    """Kafka and the other shared infrastructure (``KAFKA_BOOTSTRAP_SERVERS``, ...)."""

    group: str = field(default_factory=lambda: _raw("NOTIFICATION_GROUP", "") or "notification")
    """``NOTIFICATION_GROUP``: the consumer group and Faust app id, ``notification`` by
    default. It also names the table's changelog (``<group>-notices-changelog``)."""

    sender: str = field(default_factory=lambda: _raw("NOTIFICATION_SENDER", "") or "console")
    """``NOTIFICATION_SENDER``: ``console`` (default: one block per notice on standard
    output) or ``email`` (SMTP through Django, configured by ``email``)."""

    email: EmailConfig = field(default_factory=_email)
    """For ``email``: ``EMAIL_HOST`` (localhost), ``EMAIL_PORT`` (25), ``EMAIL_HOST_USER``,
    ``EMAIL_HOST_PASSWORD``, ``EMAIL_USE_TLS`` (false), ``DEFAULT_FROM_EMAIL``
    (``orders@<domain>``) and ``NOTIFICATION_EMAIL_DOMAIN`` (``example.com``): a customer's
    address is ``<user_id>@<NOTIFICATION_EMAIL_DOMAIN>``, since the events carry user ids
    and no addresses."""

    retention: timedelta = field(
        default_factory=lambda: _seconds("NOTIFICATION_RETENTION_SECONDS", DEFAULT_RETENTION)
    )
    """``NOTIFICATION_RETENTION_SECONDS``: how long an order's record is kept after its last
    change (86400, a day). Outcomes older than this without a record are not notified:
    redeliveries and replays never notify twice, and a worker down longer than this
    skips the outcomes it missed."""

    def __post_init__(self) -> None:
        if self.sender not in SENDERS:
            raise ValueError(
                f"NOTIFICATION_SENDER={self.sender!r} is not one of {', '.join(SENDERS)}"
            )

    def make_sender(self) -> Sender:
        """The sender these settings choose."""
        return EmailSender(self.email) if self.sender == "email" else ConsoleSender()


def load() -> NotificationSettings:
    """Read the notification settings from the current environment."""
    return NotificationSettings()
