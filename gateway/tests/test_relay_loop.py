"""The outbox relay's loop (``gateway.outbox.relay``): after a batch smaller than its
limit it waits for a NOTIFY (``_wake``) instead of reading the table again at once, and
a full batch is followed by another read. The database, producer and wake-ups are
stand-ins here (the fast tier); the integration tests run the relay for real."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.outbox import relay as relay_module
from gateway.outbox.relay import OutboxRelay, RelayConfig
from gateway.outbox.services import Pending


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def send(self, topic: str, value: bytes, **_: Any) -> asyncio.Future[None]:
        self.sent.append(value)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def _nothing() -> None:
    pass


def _rows(first: int, count: int) -> list[Pending]:
    return [Pending(i, "orders.v1", b"k", b"v%d" % i, []) for i in range(first, first + count)]


async def _run(monkeypatch: pytest.MonkeyPatch, table: list[list[Pending]], batch: int) -> Any:
    """Run the relay until it parks waiting for a wake-up; return what it did."""
    reads: list[int] = []
    parked = asyncio.Event()

    def unsent(*, limit: int) -> list[Pending]:
        reads.append(limit)
        return table.pop(0) if table else []

    async def wait_any(*events: asyncio.Event, timeout: float) -> None:
        parked.set()
        await asyncio.Event().wait()  # parked for good: the test stops the loop

    producer = FakeProducer()
    relay = OutboxRelay(RelayConfig(bootstrap=["127.0.0.1:1"], batch_size=batch))

    async def get_producer() -> FakeProducer:
        return producer

    monkeypatch.setattr(relay_module, "outbox_unsent", unsent)
    monkeypatch.setattr(relay_module, "outbox_mark_sent", lambda *, ids: len(ids))
    monkeypatch.setattr(relay_module, "_wait_any", wait_any)
    monkeypatch.setattr(relay, "_get_producer", get_producer)
    monkeypatch.setattr(relay, "_maybe_purge", _nothing)
    stop = asyncio.Event()
    loop = asyncio.ensure_future(relay.run(stop))
    try:
        await asyncio.wait_for(parked.wait(), 5)
    finally:
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop
    return reads, producer.sent


async def test_a_partial_batch_is_not_followed_by_another_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads, sent = await _run(monkeypatch, [_rows(1, 3)], batch=10)
    assert (len(reads), len(sent)) == (1, 3)


async def test_a_full_batch_is_followed_by_another_read(monkeypatch: pytest.MonkeyPatch) -> None:
    reads, sent = await _run(monkeypatch, [_rows(1, 2), _rows(3, 2), _rows(5, 1)], batch=2)
    assert (len(reads), sent) == (3, [b"v1", b"v2", b"v3", b"v4", b"v5"])
