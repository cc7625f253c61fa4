"""What the customer is told, and that it is told once, decided without Kafka."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import (
    NotificationSent,
    OrderCancelled,
    OrderCompleted,
    PaymentAuthorized,
    PaymentDeclined,
    PaymentRefunded,
    decode,
    derived_id,
    encode,
)
from notification.domain import (
    DEFAULT_RETENTION,
    DETAIL_LIMIT,
    Awaiting,
    NoticeRecord,
    Notified,
    compose,
    dump_record,
    email_address,
    forget_at,
    load_record,
    money_sentence,
    notify,
    observe,
)

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ORDER = "order-1"


def authorized(amount: str = "30.00") -> PaymentAuthorized:
    return PaymentAuthorized(
        occurred_at=AT,
        order_id=ORDER,
        correlation_id=ORDER,
        user_id="user-1",
        amount=Decimal(amount),
        currency="EUR",
    )


def declined() -> PaymentDeclined:
    return PaymentDeclined(
        occurred_at=AT,
        order_id=ORDER,
        correlation_id=ORDER,
        user_id="user-1",
        amount=Decimal("9000.00"),
        currency="EUR",
        reason="credit_limit_exceeded",
    )


def refunded(amount: str = "30.00") -> PaymentRefunded:
    return PaymentRefunded(
        occurred_at=AT,
        order_id=ORDER,
        correlation_id=ORDER,
        user_id="user-1",
        amount=Decimal(amount),
        currency="EUR",
        reason="out_of_stock",
    )


def cancelled(
    reason: str = "out_of_stock", detail: str = "p-1: 0 of 2 in stock", at: datetime = AT
) -> OrderCancelled:
    return OrderCancelled(
        occurred_at=at,
        order_id=ORDER,
        correlation_id=ORDER,
        user_id="user-1",
        reason=reason,  # type: ignore[arg-type]
        detail=detail,
    )


def completed(at: datetime = AT) -> OrderCompleted:
    return OrderCompleted(
        occurred_at=at,
        order_id=ORDER,
        correlation_id=ORDER,
        user_id="user-1",
        amount=Decimal("30.00"),
        currency="EUR",
    )


def facts(*events: PaymentAuthorized | PaymentDeclined | PaymentRefunded) -> NoticeRecord | None:
    record: NoticeRecord | None = None
    for event in events:
        record = observe(record, event, at=AT)
    return record


# -- the notices -------------------------------------------------------------------


def test_a_completed_order_is_confirmed_with_its_amount() -> None:
    outcome = completed()
    record, notice = notify(facts(authorized()), outcome, channel="console", at=AT)
    assert notice == NotificationSent(
        event_id=derived_id(outcome, "notification.sent.v1"),
        occurred_at=AT,
        order_id=ORDER,
        correlation_id=ORDER,
        causation_id=str(outcome.event_id),
        user_id="user-1",
        outcome="completed",
        channel="console",
        subject="Order order-1 confirmed",
        body="Hello user-1,\nyour order order-1 is confirmed. We charged 30.00 EUR.\n"
        "Thank you for your order.",
    )
    assert record == Notified(changed_at=AT, notice_id=notice.event_id)
    assert decode(encode(notice)) == notice


def test_a_cancelled_order_names_the_reason_the_detail_and_the_refund() -> None:
    _, notice = notify(facts(authorized(), refunded()), cancelled(), channel="email", at=AT)
    assert notice is not None
    assert (notice.outcome, notice.channel) == ("cancelled", "email")
    assert notice.subject == "Order order-1 cancelled"
    assert notice.body == (
        "Hello user-1,\nwe are sorry: your order order-1 was cancelled because some items "
        "are out of stock.\nDetails: p-1: 0 of 2 in stock\nWe have refunded 30.00 EUR."
    )


@pytest.mark.parametrize(
    ("events", "sentence"),
    [
        ((authorized(), refunded()), "We have refunded 30.00 EUR."),
        ((refunded(),), "We have refunded 30.00 EUR."),
        ((authorized(),), "A refund of 30.00 EUR is on its way."),
        ((declined(),), "You have not been charged."),
        (
            (),
            "No payment was taken for this order; should one still go through, "
            "it will be refunded automatically.",
        ),
    ],
)
def test_what_a_cancellation_says_about_the_money(
    events: tuple[PaymentAuthorized | PaymentDeclined | PaymentRefunded, ...], sentence: str
) -> None:
    _, notice = notify(facts(*events), cancelled(), channel="console", at=AT)
    assert notice is not None
    assert notice.body.endswith("\n" + sentence)


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("payment_declined", "your payment was declined"),
        ("out_of_stock", "some items are out of stock"),
        ("timeout", "we could not confirm it in time"),
    ],
)
def test_every_reason_is_told_in_words(reason: str, words: str) -> None:
    _, notice = notify(None, cancelled(reason, detail=""), channel="console", at=AT)
    assert notice is not None
    assert f"cancelled because {words}.\n" in notice.body
    assert "Details" not in notice.body


def test_a_long_detail_is_clipped_and_the_notice_stays_valid() -> None:
    _, notice = notify(None, cancelled(detail="x" * 2_000), channel="console", at=AT)
    assert notice is not None
    assert "x" * (DETAIL_LIMIT - 1) + "…" in notice.body
    assert "x" * DETAIL_LIMIT not in notice.body
    assert decode(encode(notice)) == notice  # within the contract's 2000 characters


# -- exactly once ------------------------------------------------------------------


def test_a_redelivered_outcome_notifies_nothing() -> None:
    record, first = notify(None, completed(), channel="console", at=AT)
    assert first is not None
    assert notify(record, completed(), channel="console", at=AT) == (record, None)


def test_a_second_contradicting_outcome_notifies_nothing() -> None:
    record, _ = notify(None, cancelled(), channel="console", at=AT)
    assert notify(record, completed(), channel="console", at=AT) == (record, None)


def test_payment_events_after_the_notice_change_nothing() -> None:
    record, _ = notify(facts(authorized()), cancelled(), channel="console", at=AT)
    assert record is not None
    assert observe(record, refunded(), at=AT) is record


def test_the_first_fact_of_each_kind_is_kept() -> None:
    record = facts(authorized("30.00"), authorized("99.00"), refunded("30.00"))
    assert record == Awaiting(
        changed_at=AT, currency="EUR", charged=Decimal("30.00"), refunded=Decimal("30.00")
    )
    assert observe(record, authorized("1.00"), at=AT) is record


@st.composite
def histories(draw: st.DrawFn) -> list[object]:
    payments = draw(st.sampled_from([[], [authorized()], [authorized(), refunded()], [declined()]]))
    outcome = draw(st.sampled_from([completed(), cancelled()]))
    events = [e for e in [*payments, outcome] for _ in range(draw(st.integers(1, 3)))]
    return draw(st.permutations(events))


@settings(max_examples=200, deadline=None)
@given(events=histories())
def test_one_notice_per_order_whatever_the_order_of_arrival(events: list[object]) -> None:
    record: NoticeRecord | None = None
    notices = []
    for event in events:
        if isinstance(event, OrderCompleted | OrderCancelled):
            record, notice = notify(record, event, channel="memory", at=AT)
            if notice is not None:
                notices.append(notice)
        else:
            record = observe(record, event, at=AT)  # type: ignore[arg-type]
    [notice] = notices
    assert isinstance(record, Notified)
    assert record.notice_id == notice.event_id


# -- retention ---------------------------------------------------------------------


def test_records_are_forgotten_after_the_retention() -> None:
    record = facts(authorized())
    assert record is not None
    assert forget_at(record, timedelta(hours=1)) == AT + timedelta(hours=1)
    later = AT + timedelta(seconds=5)
    marker, _ = notify(record, completed(), channel="console", at=later)
    assert marker is not None
    assert forget_at(marker) == later + DEFAULT_RETENTION


def test_an_outcome_older_than_the_retention_without_a_record_is_not_notified() -> None:
    old = AT - DEFAULT_RETENTION - timedelta(microseconds=1)
    assert notify(None, completed(old), channel="console", at=AT) == (None, None)
    assert observe(None, authorized(), at=AT + DEFAULT_RETENTION + timedelta(seconds=1)) is None
    # with the facts recorded, an old outcome is still notified
    record = facts(authorized())
    later = AT + DEFAULT_RETENTION + timedelta(hours=1)
    assert notify(record, cancelled(at=AT), channel="console", at=later).notice is not None


# -- the stored bytes and the address ----------------------------------------------------


@pytest.mark.parametrize(
    "record",
    [
        Awaiting(changed_at=AT),
        Awaiting(changed_at=AT, currency="EUR", charged=Decimal("1.50"), refunded=Decimal("1.50")),
        Awaiting(changed_at=AT, currency="JPY", declined="customer_blocked"),
        Notified(changed_at=AT, notice_id=derived_id(completed(), "notification.sent.v1")),
    ],
)
def test_records_round_trip_through_their_bytes(record: NoticeRecord) -> None:
    data = dump_record(record)
    assert load_record(data) == record
    assert len(data) < 80


def test_the_money_sentence_without_a_currency_is_still_readable() -> None:
    assert money_sentence(Awaiting(changed_at=AT, charged=Decimal("5"))) == (
        "A refund of 5 is on its way."
    )


def test_customers_are_addressed_by_user_id_at_the_configured_domain() -> None:
    assert email_address("user-1", "example.com") == "user-1@example.com"


def test_compose_stamps_the_notice_in_utc() -> None:
    notice = compose(completed(), Awaiting(changed_at=AT), channel="console", at=AT)
    assert notice.occurred_at == AT
    with pytest.raises(ValueError, match="timezone"):
        compose(completed(), Awaiting(changed_at=AT), channel="console", at=datetime(2026, 1, 1))
