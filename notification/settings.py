"""The notification worker's settings, read from the environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from config.env import (
    PlatformSettings,
    flag,
    non_negative_duration,
    port,
    raw_string,
    setting,
    string,
)
from notification.domain import DEFAULT_RETENTION
from notification.senders import ConsoleSender, EmailConfig, EmailSender, Sender
from streaming.settings import StreamingSettings

SENDERS = ("console", "email")


@dataclass(frozen=True)
class NotificationSettings:
    """Configuration of one notification worker process."""

    platform: PlatformSettings = field(default_factory=PlatformSettings)
    """Kafka and the other shared infrastructure (``KAFKA_BOOTSTRAP_SERVERS``, ...)."""

    streaming: StreamingSettings = field(
        default_factory=lambda: StreamingSettings.from_env("notification")
    )
    """Retry tiers, injected faults, metrics (``RETRY_DELAYS``, ``NOTIFICATION_FAULT_*``, ...)."""

    group: str = setting("NOTIFICATION_GROUP", string, "notification")
    """``NOTIFICATION_GROUP``: the consumer group and Faust app id, ``notification`` by
    default. It also names the table's changelog (``<group>-notices-changelog``)."""

    sender: str = setting("NOTIFICATION_SENDER", string, "console")
    """``NOTIFICATION_SENDER``: ``console`` (default: one block per notice on standard
    output) or ``email`` (SMTP through Django, configured by the ``EMAIL_*`` settings)."""

    email_domain: str = setting("NOTIFICATION_EMAIL_DOMAIN", string, "example.com")
    """``NOTIFICATION_EMAIL_DOMAIN``: a customer's address is ``<user_id>@<domain>``,
    since the events carry user ids and no addresses (``example.com``)."""

    email_host: str = setting("EMAIL_HOST", string, "localhost")
    """``EMAIL_HOST``: the SMTP server of the ``email`` sender (``localhost``)."""

    email_port: int = setting("EMAIL_PORT", port, 25)
    """``EMAIL_PORT``: its port (25)."""

    email_user: str = setting("EMAIL_HOST_USER", string, "")
    """``EMAIL_HOST_USER``: the SMTP user name; none when empty."""

    email_password: str = setting("EMAIL_HOST_PASSWORD", raw_string, "")
    """``EMAIL_HOST_PASSWORD``: the SMTP password, taken as given (spaces included)."""

    email_use_tls: bool = setting("EMAIL_USE_TLS", flag, False)
    """``EMAIL_USE_TLS``: talk to the SMTP server over STARTTLS (false)."""

    from_email: str = setting("DEFAULT_FROM_EMAIL", string, "", shown="orders@<domain>")
    """``DEFAULT_FROM_EMAIL``: the sender address of the e-mails; when empty,
    ``orders@<NOTIFICATION_EMAIL_DOMAIN>``."""

    retention: timedelta = setting(
        "NOTIFICATION_RETENTION_SECONDS", non_negative_duration, DEFAULT_RETENTION
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

    @property
    def email(self) -> EmailConfig:
        """How the ``email`` sender sends (Django's ``EMAIL_*`` settings)."""
        return EmailConfig(
            host=self.email_host,
            port=self.email_port,
            user=self.email_user,
            password=self.email_password,
            use_tls=self.email_use_tls,
            from_email=self.from_email or f"orders@{self.email_domain}",
            domain=self.email_domain,
        )

    def make_sender(self) -> Sender:
        """The sender these settings choose."""
        return EmailSender(self.email) if self.sender == "email" else ConsoleSender()


def load() -> NotificationSettings:
    """Read the notification settings from the current environment."""
    return NotificationSettings()
