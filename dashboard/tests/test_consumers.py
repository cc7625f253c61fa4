"""The WebSocket through the real ASGI application: origin check, hello, changes, resync."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from contracts.testing import order_completed
from gateway.asgi import application
from gateway.orders.models import Order
from gateway.projector.broadcast import Broadcaster

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def socket(origin: bytes = b"http://127.0.0.1:8000") -> WebsocketCommunicator:
    return WebsocketCommunicator(application, "/ws/dashboard", headers=[(b"origin", origin)])


async def test_a_foreign_origin_is_refused(versions) -> None:
    ws = socket(b"http://evil.example")
    connected, _ = await ws.connect()
    assert not connected
    await ws.disconnect()


async def test_no_origin_header_is_refused(versions) -> None:
    ws = WebsocketCommunicator(application, "/ws/dashboard")
    connected, _ = await ws.connect()
    assert not connected
    await ws.disconnect()


async def test_hello_tells_the_current_version_and_that_the_viewer_is_anonymous(versions) -> None:
    versions.value = 41
    ws = socket(b"http://localhost:8765")
    connected, _ = await ws.connect()
    assert connected
    assert await ws.receive_json_from() == {"type": "hello", "version": 41, "staff": False}
    await ws.disconnect()


def _order(order_id: str, status: str = "PENDING") -> Order:
    return Order.objects.create(
        order_id=order_id,
        user_id="u1",
        currency="USD",
        amount=Decimal("9.99"),
        items=[{"productId": "p1", "quantity": 1, "price": "9.99"}],
        request_hash="h",
        created_at=T0,
        updated_at=T0,
        status=status,
    )


async def test_a_projected_batch_reaches_the_browser_as_the_next_version(versions) -> None:
    from asgiref.sync import sync_to_async

    await sync_to_async(_order)("o-1", "COMPLETED")
    ws = socket()
    await ws.connect()
    hello = await ws.receive_json_from()

    await Broadcaster(versions).publish(
        [order_completed("o-1", at=T0, user_id="u1", amount="9.99", currency="USD")]
    )

    change = await ws.receive_json_from()
    assert change["type"] == "changes" and change["version"] == hello["version"] + 1
    assert [(o["orderId"], o["status"]) for o in change["orders"]] == [("o-1", "COMPLETED")]
    await ws.disconnect()


async def test_after_a_lost_change_a_sync_gives_the_version_to_resync_from(versions) -> None:
    from asgiref.sync import sync_to_async

    await sync_to_async(_order)("o-2")
    ws = socket()
    await ws.connect()
    assert (await ws.receive_json_from())["version"] == 0
    await Broadcaster(versions).publish(
        [order_completed("o-2", at=T0, user_id="u1", amount="9.99", currency="USD")]
    )  # v1 arrives
    assert (await ws.receive_json_from())["version"] == 1
    versions.value += 1  # v2 was taken, and its message dropped by the channel layer
    await Broadcaster(versions).publish(
        [order_completed("o-2", at=T0, user_id="u1", amount="9.99", currency="USD")]
    )  # v3: the browser sees a gap
    assert (await ws.receive_json_from())["version"] == 3

    await ws.send_json_to({"type": "sync"})

    assert await ws.receive_json_from() == {"type": "hello", "version": 3, "staff": False}
    await ws.disconnect()


async def test_messages_from_the_browser_change_nothing(versions) -> None:
    ws = socket()
    await ws.connect()
    await ws.receive_json_from()
    await ws.send_json_to({"type": "changes", "version": 99})
    assert await ws.receive_nothing(timeout=0.2)
    assert versions.value == 0
    await ws.disconnect()


# -- hostile frames, sync throttling, customer data (issue 12, finding 9) ----------------


async def test_garbage_frames_are_ignored_and_the_socket_stays_open(versions) -> None:
    ws = socket()
    await ws.connect()
    await ws.receive_json_from()
    for frame in ["not json", "{", "[1, 2]", '"sync"', "null", '{"type": 5}', "[" * 5000]:
        await ws.send_to(text_data=frame)
    await ws.send_to(bytes_data=b"\x00\xff binary")
    assert await ws.receive_nothing(timeout=0.2)
    await ws.send_json_to({"type": "sync"})  # still served
    assert (await ws.receive_json_from())["type"] == "hello"
    await ws.disconnect()


async def test_sync_is_rate_limited_per_connection_and_a_late_one_still_answered(
    versions, monkeypatch
) -> None:
    from dashboard import consumers

    monkeypatch.setattr(consumers, "SYNC_INTERVAL_S", 0.5)
    reads = 0
    current = versions.current

    async def counted() -> int:
        nonlocal reads
        reads += 1
        return await current()

    monkeypatch.setattr(versions, "current", counted)
    ws = socket()
    await ws.connect()
    await ws.receive_json_from()
    for _ in range(50):
        await ws.send_json_to({"type": "sync"})
    hellos = 0
    while not await ws.receive_nothing(timeout=0.8):
        assert (await ws.receive_json_from())["type"] == "hello"
        hellos += 1
    # the burst of 3, then the rest answered once when the next token came
    assert hellos == consumers.SYNC_BURST + 1
    assert reads == 1 + hellos
    await ws.disconnect()


async def _staff_cookie() -> bytes:
    from asgiref.sync import sync_to_async
    from django.contrib.auth import get_user_model
    from django.test import Client

    def login() -> str:
        user = get_user_model().objects.create_user("ops", password="x" * 16, is_staff=True)
        client = Client()
        client.force_login(user)
        return str(client.cookies["sessionid"].value)

    return f"sessionid={await sync_to_async(login)()}".encode()


async def test_anonymous_sockets_get_no_user_id_and_staff_sockets_get_it(versions) -> None:
    from asgiref.sync import sync_to_async

    await sync_to_async(_order)("o-9", "COMPLETED")
    anonymous = socket()
    staff = WebsocketCommunicator(
        application,
        "/ws/dashboard",
        headers=[(b"origin", b"http://127.0.0.1:8000"), (b"cookie", await _staff_cookie())],
    )
    await anonymous.connect()
    await staff.connect()
    assert (await anonymous.receive_json_from())["staff"] is False
    assert (await staff.receive_json_from())["staff"] is True

    await Broadcaster(versions).publish(
        [order_completed("o-9", at=T0, user_id="u1", amount="9.99", currency="USD")]
    )

    public, full = await anonymous.receive_json_from(), await staff.receive_json_from()
    assert public["version"] == full["version"]
    assert full["orders"][0]["userId"] == "u1"
    assert public["orders"][0]["userId"].startswith("anon-")
    assert "u1" not in str(public)
    assert public["orders"][0]["notification"]["detail"] is None
    await anonymous.disconnect()
    await staff.disconnect()


async def test_one_subscription_per_process_serves_every_socket(versions) -> None:
    from asgiref.sync import sync_to_async
    from channels.layers import get_channel_layer

    from gateway.projector.changes import GROUP, PUBLIC_GROUP, STAFF_GROUP

    await sync_to_async(_order)("o-5", "COMPLETED")
    sockets = [socket() for _ in range(3)]
    for ws in sockets:
        await ws.connect()
        await ws.receive_json_from()
    layer = get_channel_layer()
    assert len(layer.groups[PUBLIC_GROUP]) == 1  # not one per socket
    assert len(layer.groups[STAFF_GROUP]) == 1 and len(layer.groups[GROUP]) == 2
    await sockets[0].disconnect()  # a socket gone does not stop the others' deliveries

    await Broadcaster(versions).publish(
        [order_completed("o-5", at=T0, user_id="u1", amount="9.99", currency="USD")]
    )

    for ws in sockets[1:]:
        change = await ws.receive_json_from()
        assert [o["orderId"] for o in change["orders"]] == ["o-5"]
        await ws.disconnect()


class _Socket:
    def __init__(self) -> None:
        self.got: asyncio.Queue[str] = asyncio.Queue()

    async def send(self, text_data: str) -> None:
        await self.got.put(text_data)


async def test_a_failed_first_subscription_is_retried_by_the_next_socket() -> None:
    from channels.layers import InMemoryChannelLayer

    from dashboard.consumers import Fanout
    from gateway.projector.changes import PUBLIC_GROUP

    class Flaky(InMemoryChannelLayer):  # type: ignore[misc]
        failures = 1

        async def group_add(self, group: str, channel: str) -> None:
            if self.failures:
                self.failures -= 1
                raise ConnectionError("redis restarting")
            await super().group_add(group, channel)

    layer = Flaky()
    fan = Fanout(layer)
    with pytest.raises(ConnectionError):
        await fan.join(_Socket(), "public")
    later = _Socket()
    await fan.join(later, "public")
    await layer.group_send(PUBLIC_GROUP, {"type": "dashboard.push", "message": {"v": 1}})
    assert await asyncio.wait_for(later.got.get(), 2) == '{"v": 1}'
    for task in fan.tasks:
        task.cancel()


async def test_after_a_failed_receive_the_groups_are_joined_again() -> None:
    from channels.layers import InMemoryChannelLayer

    from dashboard.consumers import Fanout
    from gateway.projector.changes import PUBLIC_GROUP

    class Lost(InMemoryChannelLayer):  # type: ignore[misc]
        failures = 1

        async def receive(self, channel: str) -> dict[str, Any]:
            if self.failures:
                self.failures -= 1
                self.groups.clear()  # a restarted Redis forgot the members
                raise ConnectionError("connection reset")
            return dict(await super().receive(channel))

    layer = Lost()
    fan = Fanout(layer)
    socket = _Socket()
    await fan.join(socket, "public")
    deadline = time.monotonic() + 5
    while layer.failures or PUBLIC_GROUP not in layer.groups:  # failed, then joined again
        assert time.monotonic() < deadline, "the groups were not joined again"
        await asyncio.sleep(0.02)
    await layer.group_send(PUBLIC_GROUP, {"type": "dashboard.push", "message": {"v": 2}})
    assert await asyncio.wait_for(socket.got.get(), 2) == '{"v": 2}'
    for task in fan.tasks:
        task.cancel()
