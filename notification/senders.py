"""How a notice reaches the customer: one ``Sender`` per channel (console, e-mail, memory)."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import Protocol, TextIO

from contracts import NotificationSent
from notification.domain import email_address


class Sender(Protocol):
    """Delivers one notice to its customer; ``channel`` is recorded in ``NotificationSent``.

    ``send`` raises when the notice could not be delivered (the event then fails and is
    routed like any failure; nothing is recorded as notified).
    """

    channel: str

    async def send(self, notice: NotificationSent) -> None: ...


class ConsoleSender:
    """Prints each notice as one readable block on the worker's standard output."""

    channel = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        #: Faust redirects ``sys.stdout`` to its logger; the notices go to the real one.
        self.stream = stream

    async def send(self, notice: NotificationSent) -> None:
        stream = self.stream or sys.__stdout__ or sys.stdout
        body = "\n".join(f"  {line}" for line in notice.body.splitlines())
        stream.write(
            f"=== notification to {notice.user_id} (order {notice.order_id}, {notice.outcome})\n"
            f"  Subject: {notice.subject}\n{body}\n"
        )
        stream.flush()


class MemorySender:
    """Keeps every notice in ``sent``: the sender of tests."""

    channel = "memory"

    def __init__(self) -> None:
        self.sent: list[NotificationSent] = []

    async def send(self, notice: NotificationSent) -> None:
        self.sent.append(notice)


@dataclass(frozen=True)
class EmailConfig:
    """Where and how to send e-mail (Django's ``EMAIL_*`` settings, from the environment)."""

    host: str = "localhost"
    port: int = 25
    user: str = ""
    password: str = ""
    use_tls: bool = False
    from_email: str = "orders@example.com"
    #: The customer's address is ``<user_id>@<domain>`` (``domain.email_address``).
    domain: str = "example.com"
    timeout: float = 10.0
    backend: str = "django.core.mail.backends.smtp.EmailBackend"


class EmailSender:
    """Sends each notice as an e-mail through Django's mail machinery (SMTP by default).

    Django is configured minimally on first use (``settings.configure``; the gateway is
    never imported). The blocking SMTP exchange runs in a thread, off the event loop.
    """

    channel = "email"

    def __init__(self, config: EmailConfig) -> None:
        self.config = config
        configure_django(config)

    async def send(self, notice: NotificationSent) -> None:
        await asyncio.to_thread(self._send, notice)

    def _send(self, notice: NotificationSent) -> None:
        from django.core.mail import EmailMessage, get_connection

        config = self.config
        connection = get_connection(
            config.backend,
            fail_silently=False,
            host=config.host,
            port=config.port,
            username=config.user,
            password=config.password,
            use_tls=config.use_tls,
            timeout=config.timeout,
        )
        message = EmailMessage(
            subject=notice.subject,
            body=notice.body,
            from_email=config.from_email,
            to=[email_address(notice.user_id, config.domain)],
            connection=connection,
            headers={"X-Order-Id": notice.order_id, "X-Notification-Id": str(notice.event_id)},
        )
        message.send()


def configure_django(config: EmailConfig) -> None:
    """Give Django the e-mail settings it needs, unless it is configured already."""
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            EMAIL_BACKEND=config.backend,
            EMAIL_HOST=config.host,
            EMAIL_PORT=config.port,
            EMAIL_HOST_USER=config.user,
            EMAIL_HOST_PASSWORD=config.password,
            EMAIL_USE_TLS=config.use_tls,
            EMAIL_TIMEOUT=config.timeout,
            DEFAULT_FROM_EMAIL=config.from_email,
        )
