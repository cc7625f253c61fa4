"""The senders: console output, Django e-mail (locmem and a real SMTP exchange), memory."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from contracts import NotificationSent, OrderCancelled
from notification.domain import Awaiting, compose
from notification.senders import ConsoleSender, EmailConfig, EmailSender, MemorySender

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def notice(channel: str = "console") -> NotificationSent:
    outcome = OrderCancelled(
        occurred_at=AT,
        order_id="order-1",
        correlation_id="order-1",
        user_id="user-1",
        reason="timeout",
    )
    facts = Awaiting(changed_at=AT, currency="EUR", charged=Decimal("30.00"))
    return compose(outcome, facts, channel=channel, at=AT)


async def test_the_console_sender_prints_one_readable_block() -> None:
    out = io.StringIO()
    await ConsoleSender(out).send(notice())
    assert out.getvalue() == (
        "=== notification to user-1 (order order-1, cancelled)\n"
        "  Subject: Order order-1 cancelled\n"
        "  Hello user-1,\n"
        "  we are sorry: your order order-1 was cancelled because we could not confirm it "
        "in time.\n"
        "  A refund of 30.00 EUR is on its way.\n"
    )


async def test_the_memory_sender_keeps_every_notice() -> None:
    sender = MemorySender()
    await sender.send(notice("memory"))
    assert [n.order_id for n in sender.sent] == ["order-1"]


async def test_the_email_sender_goes_through_django_mail() -> None:
    from django.core import mail

    mail.outbox = []
    config = EmailConfig(
        backend="django.core.mail.backends.locmem.EmailBackend",
        from_email="orders@shop.test",
        domain="shop.test",
    )
    sender = EmailSender(config)
    assert sender.channel == "email"
    await sender.send(notice("email"))
    [message] = mail.outbox
    assert message.to == ["user-1@shop.test"]
    assert message.from_email == "orders@shop.test"
    assert message.subject == "Order order-1 cancelled"
    assert "A refund of 30.00 EUR is on its way." in message.body
    assert message.extra_headers["X-Order-Id"] == "order-1"


class Smtp:
    """A minimal SMTP server on a free loopback port that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str]] = []
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.AbstractServer | None = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._session, "127.0.0.1", 0)
        )
        self.ready.set()
        self.loop.run_forever()

    @property
    def port(self) -> int:
        assert self.server is not None
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sender, rcpts = "", []
        writer.write(b"220 test ESMTP\r\n")
        while line := (await reader.readline()).decode():
            verb = line[:4].upper()
            if verb in ("EHLO", "HELO"):
                writer.write(b"250 test\r\n")
            elif verb == "MAIL":
                sender = line.split(":", 1)[1].strip().strip("<>")
                writer.write(b"250 ok\r\n")
            elif verb == "RCPT":
                rcpts.append(line.split(":", 1)[1].strip().strip("<>"))
                writer.write(b"250 ok\r\n")
            elif verb == "DATA":
                writer.write(b"354 go\r\n")
                await writer.drain()
                data = []
                while (chunk := (await reader.readline()).decode()) != ".\r\n":
                    data.append(chunk)
                self.messages.append((sender, rcpts, "".join(data)))
                writer.write(b"250 queued\r\n")
            elif verb == "QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()
        writer.close()

    def __enter__(self) -> Smtp:
        self.thread.start()
        self.ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    with Smtp() as server:
        yield server


async def test_the_email_sender_speaks_smtp_off_the_event_loop(smtp: Smtp) -> None:
    config = EmailConfig(host="127.0.0.1", port=smtp.port, from_email="orders@shop.test")
    loop_thread = threading.get_ident()
    seen: list[int] = []
    sender = EmailSender(config)
    original = sender._send

    def spy(n: NotificationSent) -> None:
        seen.append(threading.get_ident())
        original(n)

    sender._send = spy  # type: ignore[method-assign]
    await sender.send(notice("email"))
    assert seen and seen[0] != loop_thread
    [(mail_from, rcpts, data)] = smtp.messages
    assert (mail_from, rcpts) == ("orders@shop.test", ["user-1@example.com"])
    assert "Subject: Order order-1 cancelled" in data
    assert "A refund of 30.00 EUR is on its way." in data


async def test_an_unreachable_smtp_server_fails_the_send() -> None:
    config = EmailConfig(host="127.0.0.1", port=1, timeout=2)
    with pytest.raises(OSError):
        await EmailSender(config).send(notice("email"))
