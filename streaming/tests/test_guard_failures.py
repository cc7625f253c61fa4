"""The guard sends each kind of failure where it belongs (a fake failure handling)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from contracts import OrderPlaced, decode, encode
from contracts import failures as wire
from contracts.failures import FaultSettings, RetryState
from streaming.disposition import Disposition
from streaming.faults import FaultInjector
from streaming.guard import EventGuard
from streaming.retrying import PermanentError, TransientError

EXAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "examples"


@dataclass
class Message:
    topic: str = "orders.v1"
    partition: int = 3
    offset: int = 41
    #: The order id of the committed example ``OrderPlaced``: order events are keyed by it.
    key: bytes | None = b"550e8400-e29b-41d4-a716-446655440000"
    value: bytes = b""
    headers: list[tuple[str, bytes]] = field(default_factory=list)


class FakeFailures:
    group = "payment"

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self.injector = FaultInjector("payment", settings or FaultSettings())
        self.failures: list[tuple[RetryState, str, bool]] = []
        self.dead: list[tuple[RetryState, str]] = []
        self.outcomes: list[Disposition] = []

    def register(self, guard: EventGuard) -> None:
        self.guard = guard

    async def before_attempt(self, attempt: int) -> None:
        await self.injector.before(attempt)

    async def failed(
        self,
        guard: Any,
        message: Any,
        headers: Any,
        state: RetryState,
        exc: BaseException,
        *,
        transient: bool,
    ) -> None:
        self.failures.append((state, type(exc).__name__, transient))

    async def dead_letter(
        self, message: Any, headers: Any, state: RetryState, exc: BaseException
    ) -> None:
        self.dead.append((state, type(exc).__name__))

    def counted(self, guard: Any, outcome: Disposition) -> None:
        self.outcomes.append(outcome)


def placed() -> OrderPlaced:
    """The committed example ``OrderPlaced`` (a valid one by construction)."""
    event = decode((EXAMPLES / "order.placed.v1.json").read_bytes())
    assert isinstance(event, OrderPlaced)
    return event


def guard_with(handler: Any, failures: FakeFailures) -> EventGuard:
    return EventGuard("authorize_payments", {OrderPlaced: handler}, failures=failures)  # type: ignore[arg-type]


async def test_undecodable_bytes_are_dead_lettered_after_one_attempt() -> None:
    failures = FakeFailures()
    guard = guard_with(None, failures)
    message = Message(value=b"\xffnot json")
    assert await guard.handle(message, message.value) is Disposition.INVALID  # type: ignore[arg-type]
    [(state, error)] = failures.dead
    assert error == "ContractError" and state.attempts == 1
    assert (state.origin_topic, state.origin_partition, state.origin_offset) == ("orders.v1", 3, 41)
    assert failures.outcomes == [Disposition.INVALID]


@pytest.mark.parametrize(
    ("raised", "transient"), [(TransientError("slow"), True), (PermanentError("bad"), False)]
)
async def test_a_failing_handler_is_retried_or_dead_lettered_by_kind(
    raised: Exception, transient: bool
) -> None:
    async def handler(event: OrderPlaced) -> None:
        raise raised

    failures = FakeFailures()
    value = encode(placed())
    outcome = await guard_with(handler, failures).handle(Message(value=value), value)  # type: ignore[arg-type]
    assert outcome is Disposition.FAILED
    [(state, error, was_transient)] = failures.failures
    assert (error, was_transient, state.attempts) == (type(raised).__name__, transient, 1)
    assert state.history[-1].topic == "orders.v1"


async def test_a_retried_message_counts_its_earlier_attempts() -> None:
    async def handler(event: OrderPlaced) -> None:
        raise TimeoutError

    failures = FakeFailures()
    earlier = RetryState.first("orders.v1", 3, 41, []).failed(
        placed().occurred_at, "orders.v1", TimeoutError()
    )
    value = encode(placed())
    message = Message(topic="orders.retry.1s.v1", offset=5, value=value)
    await guard_with(handler, failures).handle(message, value, state=earlier)  # type: ignore[arg-type]
    [(state, _, _)] = failures.failures
    assert state.attempts == 2 and state.origin_offset == 41
    assert [a.topic for a in state.history] == ["orders.v1", "orders.retry.1s.v1"]


async def test_injected_faults_fail_attempts_before_the_handler_runs() -> None:
    calls: list[int] = []

    async def handler(event: OrderPlaced) -> None:
        calls.append(1)

    failures = FakeFailures(FaultSettings(fail_attempts=1))
    guard = guard_with(handler, failures)
    value = encode(placed())
    assert await guard.handle(Message(value=value), value) is Disposition.FAILED  # type: ignore[arg-type]
    assert calls == [] and failures.failures[0][1:] == ("InjectedFault", True)
    second = RetryState.first("orders.v1", 3, 41, []).failed(
        placed().occurred_at, "orders.v1", TimeoutError()
    )
    assert await guard.handle(Message(value=value), value, state=second) is Disposition.HANDLED  # type: ignore[arg-type]
    assert calls == [1]


async def test_a_redrive_is_processed_only_by_the_group_it_names() -> None:
    calls: list[int] = []

    async def handler(event: OrderPlaced) -> None:
        calls.append(1)

    guard = guard_with(handler, FakeFailures())
    value = encode(placed())
    letter = (wire.REDRIVE_ID, b"0b5f4a8e-8a8c-5b43-9d51-6a0a1c2f3e4d")
    other = Message(value=value, headers=[(wire.REDRIVE_GROUP, b"inventory"), letter])
    mine = Message(value=value, headers=[(wire.REDRIVE_GROUP, b"payment"), letter])
    assert await guard.handle(other, value) is Disposition.SKIPPED  # type: ignore[arg-type]
    assert await guard.handle(mine, value) is Disposition.HANDLED  # type: ignore[arg-type]
    assert calls == [1]


async def test_a_forged_redrive_header_does_not_make_the_guard_skip_a_record() -> None:
    calls: list[int] = []

    async def handler(event: OrderPlaced) -> None:
        calls.append(1)

    guard = guard_with(handler, FakeFailures())
    value = encode(placed())
    for headers in (
        [
            (wire.REDRIVE_GROUP, b"nobody"),
            (wire.REDRIVE_ID, b"0b5f4a8e-8a8c-5b43-9d51-6a0a1c2f3e4d"),
        ],
        [(wire.REDRIVE_GROUP, b"inventory")],  # no dead letter id
    ):
        assert (
            await guard.handle(Message(value=value, headers=headers), value) is Disposition.HANDLED
        )  # type: ignore[arg-type]
    assert calls == [1, 1]


async def test_an_order_event_keyed_by_another_order_is_dead_lettered_unhandled() -> None:
    calls: list[int] = []

    async def handler(event: OrderPlaced) -> None:
        calls.append(1)

    failures = FakeFailures()
    value = encode(placed())
    message = Message(key=b"another-order", value=value)
    assert await guard_with(handler, failures).handle(message, value) is Disposition.INVALID  # type: ignore[arg-type]
    [(state, error)] = failures.dead
    assert error == "ContractError" and state.history[-1].error_message.startswith("key ")
    assert calls == []
