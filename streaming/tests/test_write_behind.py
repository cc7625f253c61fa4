"""``streaming.write_behind``: a table holds one changelog record per changed key until
the producer's flush, which sends them first and checks the broker's answers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from config.env import PlatformSettings
from streaming import create_app, write_behind
from streaming.write_behind import (
    ChangelogWriteFailed,
    WriteBehindProducer,
    WriteBehindTable,
    send_held,
    settle,
    write_through,
)


class FakeProducer:
    """Records every ``send``; each answer is a future resolved as told."""

    def __init__(self, refuse: set[bytes] = frozenset()) -> None:  # type: ignore[assignment]
        self.sent: list[tuple[Any, ...]] = []
        self.refuse = refuse

    async def send(self, *args: Any) -> asyncio.Future[Any]:
        self.sent.append(args)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if args[1] in self.refuse:
            future.set_exception(RuntimeError("NOT_ENOUGH_REPLICAS"))
        else:
            future.set_result("ok")
        return future


def new_table(name: str = "t", partition: int = 3) -> tuple[Any, WriteBehindTable]:
    app = create_app(f"write-behind-{name}", PlatformSettings())
    table = app.Table(name, partitions=6, key_type=bytes, value_type=bytes)
    assert isinstance(table, WriteBehindTable)
    # The partition of "the event being processed" (Faust asks the current event).
    table.partition_for_key = lambda key: partition  # type: ignore[method-assign]
    return app, table


def test_a_key_written_many_times_holds_its_latest_value_once() -> None:
    _, table = new_table()
    table[b"a"] = b"1"
    table[b"a"] = b"2"
    table[b"b"] = b"x"
    del table[b"b"]
    table[b"c"] = b"3"
    assert table[b"a"] == b"2" and b"b" not in table  # reads see every write at once
    assert table.held == {(3, b"a"): b"2", (3, b"b"): None, (3, b"c"): b"3"}


async def test_send_held_sends_each_entry_once_to_its_partition_and_empties_the_table() -> None:
    app, table = new_table("s", partition=4)
    for n in range(10):
        table[b"order-1"] = str(n).encode()
    del table[b"order-1"]
    table[b"order-2"] = b"v"
    producer = FakeProducer()
    sent = await send_held(app, producer)
    topic = table.changelog_topic.get_topic_name()
    assert producer.sent == [
        (topic, b"order-1", None, 4, None, None),
        (topic, b"order-2", b"v", 4, None, None),
    ]
    assert table.held == {}
    await settle(sent)  # every record acknowledged: nothing raised, nothing held
    assert table.held == {}
    assert await send_held(app, producer) == [] and len(producer.sent) == 2


async def test_a_refused_record_is_held_again_unless_written_since_and_the_flush_fails() -> None:
    app, table = new_table("r")
    table[b"a"] = b"1"
    table[b"b"] = b"1"
    sent = await send_held(app, FakeProducer(refuse={b"a", b"b"}))
    table[b"b"] = b"2"  # written while the first record was in flight: this one wins
    with pytest.raises(ChangelogWriteFailed, match="2 changelog records"):
        await settle(sent)
    assert table.held == {(3, b"a"): b"1", (3, b"b"): b"2"}


def test_a_write_through_table_sends_every_write_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    _, table = new_table("w")
    write_through(table)
    calls = _record_sends(table, monkeypatch)
    table[b"a"] = b"1"
    table[b"a"] = b"2"
    del table[b"a"]
    assert [c[:3] for c in calls] == [(3, b"a", b"1"), (3, b"a", b"2"), (3, b"a", None)]
    assert table.held == {}


def _record_sends(table: WriteBehindTable, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The (partition, key, value) of every record ``table`` sends at once, in order."""
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        table,
        "send_changelog",
        lambda partition, key, value=None, *_, **__: (
            calls.append((partition, key, value)) or _Sent(partition)
        ),
    )
    return calls


class _Sent:
    def __init__(self, partition: int) -> None:
        self.message = type("M", (), {"partition": partition})()


async def test_the_producers_flush_sends_the_held_records_before_flushing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, table = new_table("f")
    table[b"a"] = b"1"
    order: list[str] = []
    fake = FakeProducer()

    async def send(*args: Any) -> Any:
        order.append(f"send {args[1]!r}")
        return await FakeProducer.send(fake, *args)

    async def driver_flush(self: Any) -> None:
        order.append("flush")

    monkeypatch.setattr(write_behind.driver.Producer, "flush", driver_flush)
    producer = WriteBehindProducer.__new__(WriteBehindProducer)
    producer.app = app
    producer.send = send  # type: ignore[method-assign]
    await producer.flush()
    assert order == ["send b'a'", "flush"]
    assert table.held == {}


def test_every_app_of_create_app_has_write_behind_tables_and_producer() -> None:
    app = create_app("write-behind-app", PlatformSettings())
    assert isinstance(app.transport, write_behind.Transport)
    assert app.transport.Producer is WriteBehindProducer
    assert isinstance(app.Table("x", partitions=6), WriteBehindTable)


def test_a_write_through_block_sends_at_once_and_drops_the_held_value_of_its_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, table = new_table("b")
    calls = _record_sends(table, monkeypatch)
    table[b"a"] = b"facts"
    table[b"other"] = b"held"
    with write_behind.written_through(table):
        table[b"a"] = b"marker"
    table[b"later"] = b"held too"
    assert calls == [(3, b"a", b"marker")]
    # The held facts of b"a" would overwrite the marker in the changelog: dropped.
    assert table.held == {(3, b"other"): b"held", (3, b"later"): b"held too"}
    assert table[b"a"] == b"marker"


def test_install_keeps_a_consumer_another_install_gave_the_transport() -> None:

    app = faust_app_with_consumer_of_its_own()
    write_behind.install(app)
    assert app.transport.Consumer is _OwnConsumer
    assert app.transport.Producer is WriteBehindProducer


class _OwnConsumer(write_behind.direct_delivery.DirectDeliveryConsumer):
    """A consumer another install put in the transport (as ``streaming.fetch`` does)."""


def faust_app_with_consumer_of_its_own() -> Any:
    import faust

    from streaming.upstream import direct_delivery

    app = faust.App("write-behind-compose", broker="kafka://127.0.0.1:9")
    direct_delivery.install(app)
    own = type("OwnTransport", (direct_delivery.Transport,), {"Consumer": _OwnConsumer})
    app.transport = own(app.conf.broker_consumer, app)
    return app
