"""Which records a consumer lets in (``contracts.admission``): redrives only for their
group when genuine, order events only under their own key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from contracts import DeadlineTick, PaymentAuthorized, encode, key_of
from contracts import failures as wire
from contracts.admission import Verdict, admit, redrive_target

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LETTER_ID = str(uuid.uuid4()).encode()


def authorized(order_id: str = "order-b") -> PaymentAuthorized:
    return PaymentAuthorized(
        occurred_at=AT,
        correlation_id=order_id,
        order_id=order_id,
        user_id="user-1",
        amount=Decimal("10.00"),
        currency="EUR",
    )


def redrive(group: bytes, letter_id: bytes | None = LETTER_ID) -> wire.Headers:
    headers = [(wire.REDRIVE_GROUP, group)]
    return headers if letter_id is None else [*headers, (wire.REDRIVE_ID, letter_id)]


def test_an_order_event_under_its_own_key_is_processed() -> None:
    event = authorized()
    admission = admit(key_of(event), encode(event), [], group="payment")
    assert admission.verdict is Verdict.PROCESS and admission.event == event


@pytest.mark.parametrize("key", [b"order-a", None, b"", b"\xff\xfe", b"order-b "])
def test_an_order_event_under_another_key_is_dead_lettered(key: bytes | None) -> None:
    admission = admit(key, encode(authorized("order-b")), [], group="payment")
    assert admission.verdict is Verdict.DEAD_LETTER
    assert "order-b" in admission.reason and "co-partitioning" in admission.reason
    assert admission.invalid is admission.error


def test_events_that_are_not_about_one_order_keep_their_own_keys() -> None:
    tick = DeadlineTick(occurred_at=AT, correlation_id="saga-ticker", partition=3)
    assert admit(b"anything", encode(tick), [], group="saga").verdict is Verdict.PROCESS


def test_an_invalid_value_is_dead_lettered_with_its_contract_error() -> None:
    for value in (b"{garbage", b"[" * 5_000, 42):
        admission = admit(b"k", value, [], group="payment")
        assert admission.verdict is Verdict.DEAD_LETTER and admission.error is not None


def test_a_genuine_redrive_is_for_its_group_only() -> None:
    value, key = encode(authorized()), b"order-b"
    headers = redrive(b"inventory")
    assert admit(key, value, headers, group="payment").skipped
    assert admit(key, value, headers, group="projector").skipped
    assert admit(key, value, headers, group="inventory").verdict is Verdict.PROCESS


def test_a_redrive_for_a_group_renamed_by_its_deployment_is_still_its_own() -> None:
    headers = redrive(b"payment-eu")
    assert redrive_target(headers, "payment-eu") == "payment-eu"
    assert redrive_target(headers, "saga") is None  # unknown elsewhere: processed, not lost


@pytest.mark.parametrize(
    "headers",
    [
        redrive(b"nobody"),  # names no group
        redrive(b""),
        redrive(b"\xff\xfeinventory"),  # not UTF-8
        redrive(b"inventory", None),  # no dead letter id
        redrive(b"inventory", b"not-a-uuid"),
        redrive(b"inventory", b"\xff"),
        redrive(b"inventory", b"1" * 5_000),
        [(wire.REDRIVE_ID, LETTER_ID)],  # an id without a group
    ],
)
def test_a_forged_or_broken_redrive_header_is_ignored_and_the_record_processed(
    headers: wire.Headers,
) -> None:
    admission = admit(b"order-b", encode(authorized()), headers, group="payment")
    assert admission.verdict is Verdict.PROCESS


def test_a_redrive_for_another_group_is_skipped_before_its_value_is_read() -> None:
    # Its group dead-letters it again if it is still poison; the others must not.
    assert admit(b"k", b"{garbage", redrive(b"inventory"), group="payment").skipped


def test_without_failure_routing_nothing_is_skipped() -> None:
    admission = admit(b"order-b", encode(authorized()), redrive(b"inventory"), group=None)
    assert admission.verdict is Verdict.PROCESS
