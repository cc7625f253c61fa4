"""Write-behind tables: a table's changelog gets one record per changed key per flush,
not one per write.

**Why.** A Faust table sends a changelog record for every ``table[key] = value`` and
``del table[key]``. Most of a worker's writes overwrite a key written moments before
(an order's saga state three times in ~30 ms, the auditor's facts five times, analytics'
per-minute buckets and per-partition watermarks on every event), and every record is a
produce, a broker append and, after a restart, a record to replay. The changelog is
compacted: only each key's latest value counts.

**What.** ``WriteBehindTable`` (every table of a ``streaming.create_app`` app) updates
its in-memory data at once, as Faust's table does (reads see every write), but holds the
changelog record: one entry per (partition, key), the latest value or a deletion. The
producer (``WriteBehindProducer``) sends every held entry before each ``flush()``, and
Faust flushes the producer (at-least-once) before it commits offsets, before it gives up
partitions in a rebalance and when it stops; the saga flushes it before a timeout.

**Why nothing is lost.** A record is held only from the write to the next flush, and
the event that wrote it has its offset committed only after a flush: so whenever a held
record is lost (a crash, ``kill -9``), the offsets of the events that wrote it were not
committed either, the events are delivered again, and the handlers, which are
idempotent, write the same state again (what each worker re-emits then, and why it is
the same: each ``domain.py``). That is the at-least-once contract Faust's own
changelog already relied on: its records were buffered too, only for about a
millisecond instead of until the commit. A table whose handler has a side effect outside
Kafka that must not repeat after a crash opts out, for the whole table
(``write_through(table)``) or for one write (``with table.written_through():``, the
notification worker's marker that a notice went out): such records go out at once, as
Faust's do, and supersede a held value of the same key.

Changelog records are sent with ``app.producer.send`` and the explicit partition of the
event that wrote them (as ``streaming.publish`` sends events), and the flush waits for
their acknowledgements; a record the broker refused is held again (unless written since)
and the flush raises ``ChangelogWriteFailed``, so no commit goes over it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any, ClassVar

import faust
from faust.transport.drivers import aiokafka as driver

from streaming.upstream import direct_delivery

log = logging.getLogger(__name__)

#: A held entry's key: (changelog partition, table key).
Slot = tuple[int, bytes]


class ChangelogWriteFailed(RuntimeError):
    """Some changelog records were not acknowledged: they are held for the next flush."""


class WriteBehindTable(faust.Table):  # type: ignore[type-arg]  # Faust's generic Table
    """A Faust table whose changelog records wait for the next producer flush (module
    docstring). Keys and values are bytes (every table of the platform is raw)."""

    #: False: every write is sent at once, as Faust's own table does (``write_through``).
    write_behind: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        self.held: dict[Slot, bytes | None] = {}

    def on_key_set(self, key: Any, value: Any) -> None:
        if not self.write_behind or not _raw(key, value):
            self._drop_held(key)
            super().on_key_set(key, value)
            return
        self._hold(key, value)
        self._sensor_on_set(self, key, value)

    def on_key_del(self, key: Any) -> None:
        if not self.write_behind or not _raw(key, None):
            self._drop_held(key)
            super().on_key_del(key)
            return
        self._hold(key, None)
        self._sensor_on_del(self, key)

    @contextlib.contextmanager
    def written_through(self) -> Iterator[None]:
        """Within the block, writes are sent at once (a held value of the same key is
        dropped: the write supersedes it), as for a ``write_through`` table."""
        before, self.write_behind = self.write_behind, False
        try:
            yield
        finally:
            self.write_behind = before

    def _drop_held(self, key: Any) -> None:
        if self.held:
            self.held.pop((self._partition(key), key), None)

    def _partition(self, key: bytes) -> int:
        # The partition of the event being processed (raises outside of a stream, as
        # Faust's own write does): the changelog stays co-partitioned with the inputs.
        partition = self.partition_for_key(key)
        if partition is None:  # only with use_partitioner, which the platform never sets
            raise RuntimeError(f"{self.name}: no partition for a write-behind record")
        return partition

    def _hold(self, key: bytes, value: bytes | None) -> None:
        self.held[(self._partition(key), key)] = value

    def take(self) -> dict[Slot, bytes | None]:
        """The held entries, handed over (the table holds none after this)."""
        held, self.held = self.held, {}
        return held

    def hold_again(self, entries: dict[Slot, bytes | None]) -> None:
        """Hold ``entries`` again, unless their key was written since (that write wins)."""
        for slot, value in entries.items():
            self.held.setdefault(slot, value)


def _raw(key: Any, value: Any) -> bool:
    return isinstance(key, bytes) and (value is None or isinstance(value, bytes))


def written_through(table: Any) -> contextlib.AbstractContextManager[None]:
    """``table.written_through()`` for a ``WriteBehindTable``; nothing to do otherwise."""
    if isinstance(table, WriteBehindTable):
        return table.written_through()
    return contextlib.nullcontext()


def write_through(table: Any) -> Any:
    """Make ``table`` send each changelog record at once (see the module docstring)."""
    if isinstance(table, WriteBehindTable):
        table.write_behind = False
    return table


#: What one flush sent of one table: the entries, and the broker's answer for each.
Sent = tuple[WriteBehindTable, dict[Slot, bytes | None], list[Any]]


async def send_held(app: Any, producer: Any) -> list[Sent]:
    """Send every table's held entries through ``producer`` (``app.producer.send``: the
    changelog topic, the entry's partition); returns what was sent, for ``settle``."""
    sent: list[Sent] = []
    for table in list(app.tables.values()):
        if not isinstance(table, WriteBehindTable) or not table.held:
            continue
        topic = table.changelog_topic.get_topic_name()
        entries = table.take()
        futures = [
            await producer.send(topic, key, value, partition, None, None)
            for (partition, key), value in entries.items()
        ]
        sent.append((table, entries, futures))
    return sent


async def settle(sent: list[Sent]) -> None:
    """Wait for the broker's answer to every record of ``sent``; hold again what it
    refused (unless written since) and raise ``ChangelogWriteFailed`` if anything was."""
    failed = 0
    for table, entries, futures in sent:
        answers = await asyncio.gather(*futures, return_exceptions=True)
        lost = {
            slot: value
            for (slot, value), answer in zip(entries.items(), answers, strict=True)
            if isinstance(answer, BaseException)
        }
        if lost:
            log.error(
                "%s: %d changelog records not acknowledged, held again: %r",
                table.name, len(lost), next(a for a in answers if isinstance(a, BaseException)),
            )  # fmt: skip
            table.hold_again(lost)
            failed += len(lost)
    if failed:
        raise ChangelogWriteFailed(f"{failed} changelog records were not acknowledged")


class WriteBehindProducer(driver.Producer):
    """Faust's aiokafka producer whose ``flush`` first sends every held table record
    and, after flushing, checks that the broker acknowledged them."""

    async def flush(self) -> None:
        sent = await send_held(self.app, self)
        await super().flush()
        await settle(sent)


class Transport(direct_delivery.Transport):
    """``direct_delivery``'s transport, with ``WriteBehindProducer`` as its producer."""

    Producer: ClassVar[type[Any]] = WriteBehindProducer


def install(app: faust.App) -> None:
    """Give ``app`` the producer that sends held records (after ``direct_delivery``'s
    install, before anything created the producer); its tables are ``WriteBehindTable``
    through the ``Table`` setting (``streaming.create_app``).

    The app's transport class is kept and only its producer replaced (a subclass of it
    and of ``Transport``), so another install that replaced the consumer before this one
    keeps its consumer.
    """
    if getattr(app, "_producer", None) is not None:
        raise RuntimeError("write_behind.install: the app's producer already exists")
    current = type(app.transport)
    if not issubclass(current, direct_delivery.Transport):
        raise RuntimeError("write_behind.install: install direct_delivery first")
    if current is direct_delivery.Transport:
        current = Transport
    elif not issubclass(current, Transport):
        current = type(f"WriteBehind{current.__name__}", (Transport, current), {})
    app.transport = current(app.conf.broker_consumer, app)


__all__ = [
    "ChangelogWriteFailed",
    "WriteBehindProducer",
    "WriteBehindTable",
    "install",
    "send_held",
    "settle",
    "write_through",
    "written_through",
]
