"""Hostile Kafka: records no producer of the platform would write, put straight on its
topics (bad headers, oversized values, values the contract allows and the database
cannot hold, forged ticks, redrives and keys). Each is dead-lettered, ignored or
handled as an ordinary record, and every consumer goes on: after each one, an order
placed through the API completes and shows in the read model, and every consumer group
(payment, inventory, saga, notification, analytics, projector) catches up on its topics.

One platform for the module (every service); the cases run in order on it.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

import contracts
from contracts import (
    DeadLetter,
    DeadlineTick,
    NotificationSent,
    OrderLine,
    OrderPlaced,
    encode,
    topics,
)
from contracts import failures as wire
from harness.runner import Platform
from tests.integration.conftest import start_platform
from tests.integration.support import http, partitions_of, read_topic
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

ADMIN = ("hostile-admin", "hostile-admin-pw-5")
AUTH = {"Authorization": "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()}
SERVICES = [
    "gateway",
    "relay",
    "projector",
    "payment",
    "inventory",
    "saga",
    "notification",
    "analytics",
]
GROUPS = ("payment", "inventory", "saga", "notification", "analytics", "projector")
CONTRACT_TOPICS = frozenset(t.name for t in topics.ALL_TOPICS)
#: Groups that read orders.v1 (each dead-letters a bad record there on its own).
ORDER_READERS = ("payment", "inventory", "saga", "projector")
WAIT_S = 60.0


@pytest.fixture(scope="module")
def platform(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    env = {
        **stack_env,
        "PAYMENT_DECLINE_RATE": "0",
        "ADMIN_USERNAME": ADMIN[0],
        "ADMIN_PASSWORD": ADMIN[1],
    }
    running = start_platform(env, tmp_path_factory.mktemp("hostile"), SERVICES, redis_db=11)
    try:
        yield running
    finally:
        running.stop()


def bootstrap(platform: Platform) -> str:
    return platform.env["KAFKA_BOOTSTRAP_SERVERS"]


# -- producing and reading ---------------------------------------------------------------


def send(
    platform: Platform,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    headers: wire.Headers | None = None,
) -> tuple[int, int]:
    """One record as given (no checks); returns (partition, offset)."""

    async def go() -> tuple[int, int]:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap(platform), acks="all", max_request_size=1_100_000
        )
        await producer.start()
        try:
            meta = await producer.send_and_wait(topic, value, key=key, headers=headers or [])
            return meta.partition, meta.offset
        finally:
            await producer.stop()

    return asyncio.run(go())


def send_to_partition(
    platform: Platform, topic: str, partition: int, key: bytes, value: bytes
) -> None:
    async def go() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap(platform), acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(topic, value, key=key, partition=partition)
        finally:
            await producer.stop()

    asyncio.run(go())


def dead_lettered_by(platform: Platform, topic: str, partition: int, offset: int) -> set[str]:
    """The groups that dead-lettered the record at ``topic[partition]@offset``."""
    groups = set()
    for record in read_topic(bootstrap(platform), topics.DLQ.name):
        try:
            letter = contracts.decode_as(record.value, DeadLetter)
        except contracts.ContractError:
            continue
        if (letter.original_topic, letter.partition, letter.offset) == (topic, partition, offset):
            groups.add(letter.consumer_group)
    return groups


def events_about(platform: Platform, topic: str, order_id: str) -> list[Any]:
    found = []
    for record in read_topic(bootstrap(platform), topic):
        if record.key != order_id.encode():
            continue
        try:
            found.append(contracts.decode(record.value))
        except contracts.ContractError:
            continue
    return found


def committed_and_ends(
    platform: Platform, group: str
) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """``group``'s committed offsets and the end offsets, on every partition of the
    contract's topics it has committed on."""

    async def read() -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap(platform))
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap(platform), enable_auto_commit=False)
        await admin.start()
        await consumer.start()
        try:
            committed = await admin.list_consumer_group_offsets(group)
            names = {tp.topic for tp in committed} & CONTRACT_TOPICS
            partitions = [
                TopicPartition(name, p)
                for name in sorted(names)
                for p in await partitions_of(bootstrap(platform), name)
            ]
            ends = await consumer.end_offsets(partitions) if partitions else {}
            done = {
                tp: meta.offset
                if (meta := committed.get(tp)) is not None and meta.offset >= 0
                else 0
                for tp in partitions
            }
            return done, dict(ends)
        finally:
            await consumer.stop()
            await admin.close()

    return asyncio.run(read())


def behind(platform: Platform, group: str, targets: dict[TopicPartition, int]) -> dict[str, int]:
    """How far ``group``'s commits are short of ``targets`` (end offsets read earlier).

    The ends are read once and then reached: topics written on the platform's own clock
    (the saga's ticks, analytics' minutes) grow while the group commits, so "committed ==
    end now" can stay false for a group that keeps up."""
    done, _ = committed_and_ends(platform, group)
    return {
        f"{tp.topic}[{tp.partition}]": target - done.get(tp, 0)
        for tp, target in targets.items()
        if done.get(tp, 0) < target
    }


# -- the platform goes on ------------------------------------------------------------------


def products(platform: Platform) -> list[dict[str, Any]]:
    status, _, body = http("GET", f"{platform.gateway_url}/api/products")
    assert status == 200, body
    return sorted(body, key=lambda p: -p["available"])


def goes_on(platform: Platform) -> None:
    """An order placed now completes and shows in the read model with its notification;
    every consumer group catches up on its topics."""
    product = products(platform)[0]
    body = {
        "userId": "user-after-hostile",
        "currency": "USD",
        "items": [{"productId": product["productId"], "quantity": 1}],
    }
    status, _, answer = http("POST", f"{platform.gateway_url}/api/orders", body)
    assert status == 202, answer
    order_id = answer["orderId"]

    def completed() -> dict[str, Any] | None:
        status, _, shown = http("GET", f"{platform.gateway_url}/api/orders/{order_id}")
        if status == 200 and shown["status"] == "COMPLETED" and shown["notification"]["status"]:
            return dict(shown)
        return None

    eventually(completed, timeout=WAIT_S, what=f"order {order_id} completed and notified")
    lags: dict[str, dict[str, int]] = {}
    targets = {group: committed_and_ends(platform, group)[1] for group in GROUPS}

    def all_caught_up() -> bool:
        lags.clear()
        lags.update({g: lag for g in GROUPS if (lag := behind(platform, g, targets[g]))})
        return not lags

    try:
        eventually(all_caught_up, timeout=WAIT_S, what="every group caught up", interval=1)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; behind: {lags}") from None


# -- hostile records ---------------------------------------------------------------------


def an_order(amount: Decimal | None = None, *, order_id: str | None = None) -> OrderPlaced:
    order_id = order_id or f"hostile-{uuid.uuid4()}"
    price = amount if amount is not None else Decimal("10.00")
    return OrderPlaced(
        order_id=order_id,
        correlation_id=order_id,
        user_id="user-hostile",
        currency="USD",
        amount=price,
        items=(OrderLine(product_id="prod-001", quantity=1, unit_price=price),),
        occurred_at=datetime.now(UTC),
    )


def settled(platform: Platform, order: OrderPlaced, where: tuple[int, int]) -> None:
    """The order of a record on orders.v1 was decided (handled as an ordinary record, its
    odd headers ignored), or the record was dead-lettered."""

    def done() -> bool:
        decided = events_about(platform, topics.OUTCOMES.name, order.order_id)
        return bool(decided) or bool(dead_lettered_by(platform, topics.ORDERS.name, *where))

    eventually(done, timeout=WAIT_S, what=f"{order.order_id} decided or dead-lettered")


def on_orders(platform: Platform, headers: wire.Headers) -> None:
    order = an_order()
    where = send(platform, topics.ORDERS.name, order.order_id.encode(), encode(order), headers)
    settled(platform, order, where)


def deeply_nested_failure_history(platform: Platform) -> None:
    on_orders(platform, [(wire.HISTORY, b"[" * 100_000 + b"]" * 100_000)])


def non_utf8_header_values(platform: Platform) -> None:
    on_orders(
        platform,
        [
            ("traceparent", b"\xff\xfe\x00\x80"),
            (wire.HISTORY, b"\xff\xfe["),
            (wire.RETRY_ATTEMPT, b"\xc3\x28"),
            (wire.REDRIVE_GROUP, b"\xff\xfeinventory"),
        ],
    )


def huge_header(platform: Platform) -> None:
    on_orders(platform, [("x-junk", b"x" * 900_000)])


def thousands_of_headers(platform: Platform) -> None:
    on_orders(platform, [(f"h-{n}", b"v") for n in range(5_000)])


def forged_redrive_group_naming_no_group(platform: Platform) -> None:
    order = an_order()
    headers = [(wire.REDRIVE_GROUP, b"nobody"), (wire.REDRIVE_ID, str(uuid.uuid4()).encode())]
    send(platform, topics.ORDERS.name, order.order_id.encode(), encode(order), headers)
    # Not skipped by every group: the order is decided like any other.
    eventually(
        lambda: events_about(platform, topics.OUTCOMES.name, order.order_id),
        timeout=WAIT_S,
        what=f"{order.order_id} decided despite its forged redrive header",
    )


def forged_redrive_without_dead_letter_id(platform: Platform) -> None:
    order = an_order()
    headers = [(wire.REDRIVE_GROUP, b"inventory")]
    send(platform, topics.ORDERS.name, order.order_id.encode(), encode(order), headers)
    eventually(
        lambda: events_about(platform, topics.OUTCOMES.name, order.order_id),
        timeout=WAIT_S,
        what=f"{order.order_id} decided despite a redrive.group without redrive.id",
    )


def retry(platform: Platform, due_at: bytes) -> tuple[OrderPlaced, tuple[int, int]]:
    """A retry record for payment's agent on the 1 s tier, due at ``due_at``."""
    order = an_order()
    headers = [
        (wire.RETRY_GROUP, b"payment"),
        (wire.RETRY_AGENT, b"authorize_payments"),
        (wire.RETRY_ATTEMPT, b"1"),
        (wire.RETRY_DUE_AT, due_at),
        (wire.ORIGIN_TOPIC, topics.ORDERS.name.encode()),
        (wire.ORIGIN_PARTITION, b"0"),
        (wire.ORIGIN_OFFSET, b"0"),
    ]
    where = send(platform, topics.RETRY_1S.name, order.order_id.encode(), encode(order), headers)
    return order, where


def retried_or_dead(platform: Platform, order: OrderPlaced) -> None:
    """Payment ran the retry within its tier (it decided the order) or dead-lettered it."""

    def done() -> bool:
        decided = events_about(platform, topics.PAYMENTS.name, order.order_id)
        return bool(decided) or any(
            r.key == order.order_id.encode()
            for r in read_topic(bootstrap(platform), topics.DLQ.name)
        )

    eventually(done, timeout=WAIT_S, what=f"the retry of {order.order_id} run or dead-lettered")


def retry_due_in_a_billion_years(platform: Platform) -> None:
    order, _ = retry(platform, str(10**30).encode())
    retried_or_dead(platform, order)  # clamped to its tier, never slept on for ever


def retry_due_before_the_epoch(platform: Platform) -> None:
    order, _ = retry(platform, b"-5")
    retried_or_dead(platform, order)


def retry_due_at_not_a_number(platform: Platform) -> None:
    retry(platform, b"soon")  # not a retry record of ours: left alone (logged)


def value_near_one_mebibyte(platform: Platform) -> None:
    value = b'{"type": "order.placed.v1", "pad": "' + b"x" * 1_000_000 + b'"}'
    key = f"hostile-{uuid.uuid4()}".encode()
    where = send(platform, topics.ORDERS.name, key, value)
    eventually(
        lambda: set(ORDER_READERS) <= dead_lettered_by(platform, topics.ORDERS.name, *where),
        timeout=WAIT_S,
        what="the ~1 MiB record dead-lettered by every group that reads orders.v1",
    )


def key_not_the_order_id(platform: Platform) -> None:
    order = an_order()
    where = send(platform, topics.ORDERS.name, b"another-order", encode(order))
    eventually(
        lambda: set(ORDER_READERS) <= dead_lettered_by(platform, topics.ORDERS.name, *where),
        timeout=WAIT_S,
        what="the record keyed by another order dead-lettered by every group reading it",
    )
    assert not events_about(platform, topics.PAYMENTS.name, order.order_id)


def amount_beyond_the_column(platform: Platform) -> None:
    # Beyond the read model's numeric(14,2), so beyond the contract too (its bounds are
    # the columns'): built past the contract's checks, as a hostile producer would.
    order = an_order()
    huge = Decimal("99999999999999.99")
    msgspec.structs.force_setattr(order, "amount", huge)
    msgspec.structs.force_setattr(order.items[0], "unit_price", huge)
    where = send(platform, topics.ORDERS.name, order.order_id.encode(), encode(order))
    settled(platform, order, where)


def nul_in_a_notification_body(platform: Platform) -> None:
    order_id = f"hostile-{uuid.uuid4()}"
    sent = NotificationSent(
        order_id=order_id,
        correlation_id=order_id,
        user_id="user-hostile",
        outcome="completed",
        channel="email",
        subject="Your order\x00",
        body="done\x00\x00",
    )
    send(platform, topics.NOTIFICATIONS.name, order_id.encode(), encode(sent))


def future_dated_deadline_ticks(platform: Platform) -> None:
    for partition in range(topics.SAGA_TICKS.partitions):
        tick = DeadlineTick(
            occurred_at=datetime.now(UTC) + timedelta(days=365),
            correlation_id="saga-ticker",
            partition=partition,
        )
        send_to_partition(platform, topics.SAGA_TICKS.name, partition, b"forged", encode(tick))
    # goes_on then places an order: it must complete, not be cancelled as timed out.


def dead_letter(**change: Any) -> DeadLetter:
    key = f"hostile-{uuid.uuid4()}".encode()
    fields: dict[str, Any] = {
        "correlation_id": key.decode(),
        "original_topic": topics.NOTIFICATIONS.name,
        "partition": 0,
        "offset": 0,
        "key": key,
        "value": b"{}",
        "consumer_group": "notification",
        "error_type": "ValueError",
        "error_message": "hostile",
        "failed_at": datetime.now(UTC),
        "attempts": 1,
        **change,
    }
    return DeadLetter(**fields)


def dead_letter_with_a_300_char_group(platform: Platform) -> None:
    letter = dead_letter(consumer_group="g" * 300)
    send(platform, topics.DLQ.name, letter.key, encode(letter))


def dead_letter_with_nul_in_its_error(platform: Platform) -> None:
    letter = dead_letter(error_message="bad\x00byte", error_type="Value\x00Error")
    send(platform, topics.DLQ.name, letter.key, encode(letter))


def dead_letter_from_a_changelog_then_redrive_all(platform: Platform) -> None:
    changelog = "payment-ledger-changelog"
    letter = dead_letter(original_topic=changelog, consumer_group="payment")
    send(platform, topics.DLQ.name, letter.key, encode(letter))

    def listed() -> list[dict[str, Any]]:
        status, _, page = http(
            "GET", f"{platform.gateway_url}/api/ops/dlq?topic={changelog}&limit=500", **AUTH
        )
        assert status == 200, page
        return [r for r in page["results"] if r["eventId"] == str(letter.event_id)]

    [row] = eventually(listed, timeout=WAIT_S, what="the changelog dead letter listed")
    status, _, answer = http(
        "POST", f"{platform.gateway_url}/api/ops/dlq/redrive", {"all": True}, **AUTH
    )
    assert status in (200, 422), answer
    if status == 200:
        assert row["id"] in [r["id"] for r in answer["refused"]], answer
        assert row["id"] not in answer["ids"]
    else:
        assert answer["type"] == "not_redrivable"
    [still] = listed()
    assert still["status"] == "pending"
    assert not [r for r in read_topic(bootstrap(platform), changelog) if r.key == letter.key]


def tombstone_on_orders(platform: Platform) -> None:
    where = send(platform, topics.ORDERS.name, f"hostile-{uuid.uuid4()}".encode(), None)
    eventually(
        lambda: set(ORDER_READERS) <= dead_lettered_by(platform, topics.ORDERS.name, *where),
        timeout=WAIT_S,
        what="a null value dead-lettered by every group that reads orders.v1",
    )


@dataclass(frozen=True)
class Case:
    name: str
    run: Callable[[Platform], None]


CASES = [
    # First: "redrive all" then acts on nothing the other cases dead-lettered.
    Case(
        "dead-letter from a changelog, then redrive all",
        dead_letter_from_a_changelog_then_redrive_all,
    ),
    Case("failure.history nested 100,000 deep", deeply_nested_failure_history),
    Case("non-UTF-8 header values", non_utf8_header_values),
    Case("a 900 KB header", huge_header),
    Case("5,000 headers", thousands_of_headers),
    Case("redrive.group naming no group", forged_redrive_group_naming_no_group),
    Case("redrive.group without redrive.id", forged_redrive_without_dead_letter_id),
    Case("retry.due-at in 10**30 ms", retry_due_in_a_billion_years),
    Case("retry.due-at negative", retry_due_before_the_epoch),
    Case("retry.due-at not a number", retry_due_at_not_a_number),
    Case("a value of ~1 MiB", value_near_one_mebibyte),
    Case("key a, order_id b", key_not_the_order_id),
    Case("amount beyond numeric(14,2)", amount_beyond_the_column),
    Case("NUL in a notification", nul_in_a_notification_body),
    Case("DeadlineTicks a year ahead", future_dated_deadline_ticks),
    Case("dead letter with a 300-char consumer group", dead_letter_with_a_300_char_group),
    Case("dead letter with NUL in its error", dead_letter_with_nul_in_its_error),
    Case("a null value on orders.v1", tombstone_on_orders),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_hostile_record_is_contained_and_every_consumer_goes_on(
    platform: Platform, case: Case
) -> None:
    case.run(platform)
    goes_on(platform)
