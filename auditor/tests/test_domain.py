"""The auditor's rules without Kafka: verdicts per order, idempotent under redelivery and
replay, a real violation counted once, summaries and their merge."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from auditor.domain import (
    MAX_NAMED,
    AuditedEvent,
    OrderFacts,
    Timing,
    audited,
    dump,
    expected_net_charge,
    fold,
    last_at,
    load,
    reservation_problem,
    same_verdict,
    settled,
    summarize,
    verdict,
)
from contracts import (
    NotificationSent,
    OrderCancelled,
    OrderCompleted,
    OrderPlaced,
    decode,
    encode,
    reaction,
)
from contracts.testing import (
    inventory_released,
    inventory_reserved,
    order_cancelled,
    order_completed,
    order_placed,
    payment_authorized,
    payment_refunded,
)

T = Timing(deadline=30.0, grace=10.0)
START = 1_800_000_000.0


def notice(order: OrderPlaced, outcome: OrderCompleted | OrderCancelled) -> NotificationSent:
    """The notice of ``outcome`` (its id derived from the outcome's, as the worker's is)."""
    return reaction(
        outcome,
        NotificationSent,
        user_id=order.user_id,
        outcome="completed" if isinstance(outcome, OrderCompleted) else "cancelled",
        channel="console",
        subject="s",
        body="b",
    )


def completed_run(order: OrderPlaced) -> list[AuditedEvent]:
    outcome = order_completed(order)
    return [
        order,
        payment_authorized(order),
        inventory_reserved(order),
        outcome,
        notice(order, outcome),
    ]


def cancelled_run(order: OrderPlaced) -> list[AuditedEvent]:
    outcome = order_cancelled(order, "timeout")
    return [
        order,
        payment_authorized(order),
        inventory_reserved(order),
        outcome,
        payment_refunded(order),
        inventory_released(order),
        notice(order, outcome),
    ]


def facts_of(events: list[AuditedEvent], start: float = START) -> OrderFacts:
    facts: OrderFacts | None = None
    for i, event in enumerate(events):
        facts = fold(facts, event, start + i * 0.01)
    assert facts is not None
    return facts


LATER = START + 1_000


@pytest.mark.parametrize("run", [completed_run, cancelled_run])
def test_an_order_that_keeps_every_promise_breaks_none(run: object) -> None:
    events = run(order_placed(order_id="o-1"))  # type: ignore[operator]

    facts = facts_of(events)

    assert verdict(facts, LATER, T) == frozenset()
    assert settled(facts, LATER, T)


def test_declined_and_rejected_orders_owe_nothing() -> None:
    order = order_placed(order_id="o-2")
    outcome = order_cancelled(order, "payment_declined")
    # PaymentDeclined and InventoryRejected move no money and no stock: not audited.
    events: list[AuditedEvent] = [order, outcome, notice(order, outcome)]

    assert verdict(facts_of(events), LATER, T) == frozenset()


def test_every_event_delivered_twice_and_shuffled_changes_nothing() -> None:
    order = order_placed(order_id="o-3")
    events = cancelled_run(order)
    once = facts_of(events)
    replayed = events * 3
    random.Random(7).shuffle(replayed)

    twice = facts_of(events + replayed)

    assert twice == once
    assert verdict(twice, LATER, T) == frozenset()


def test_a_redelivered_event_returns_the_same_object() -> None:
    order = order_placed(order_id="o-4")
    facts = facts_of(completed_run(order))

    for event in completed_run(order):  # the same ids: derived from the order's
        assert fold(facts, event, LATER) is facts


def test_a_forged_second_authorization_is_one_double_charge_however_often_it_comes() -> None:
    order = order_placed(order_id="o-5")
    facts = facts_of(completed_run(order))
    forged = payment_authorized("o-5", amount=order.amount)  # a new event id

    for _ in range(3):
        facts = fold(facts, forged, LATER)

    kinds = verdict(facts, LATER + 100, T)
    assert kinds == {"double_charged", "wrong_charge"}
    summary = summarize(
        {"o-5": kinds}, group="auditor", partition=0, orders=1, pending=0, checked_at=LATER
    )
    assert (summary.double_charged, summary.wrong_charge, summary.lost) == (1, 1, 0)
    assert [v.order_id for v in summary.violations] == ["o-5"]


def test_a_double_charge_is_seen_at_once_without_a_clock() -> None:
    order = order_placed(order_id="o-6")
    facts = fold(facts_of([order, payment_authorized(order)]), payment_authorized("o-6"), START)

    assert verdict(facts, None, T) == {"double_charged"}


def test_a_refund_within_the_grace_is_not_a_wrong_charge_and_one_missing_after_it_is() -> None:
    order = order_placed(order_id="o-7")
    events = cancelled_run(order)
    unrefunded = [e for e in events if type(e).__name__ != "PaymentRefunded"]
    facts = facts_of(unrefunded)
    decided = START + 3 * 0.01

    assert verdict(facts, decided + T.grace - 1, T) == frozenset()
    assert not settled(facts, decided + T.grace - 1, T)
    assert verdict(facts, decided + T.grace, T) == {"wrong_charge"}
    assert verdict(fold(facts, payment_refunded(order), LATER), LATER, T) == frozenset()


def test_an_undecided_order_is_overdue_after_deadline_and_grace_until_its_outcome() -> None:
    order = order_placed(order_id="o-8")
    facts = fold(None, order, START)

    assert verdict(facts, START + 39, T) == frozenset()
    assert verdict(facts, START + 40, T) == {"overdue"}
    assert not settled(facts, START + 40, T)
    outcome = order_cancelled(order)
    decided = fold(fold(facts, outcome, START + 41), notice(order, outcome), START + 41)
    assert verdict(decided, START + 100, T) == frozenset()


def test_lost_an_order_without_its_notice() -> None:
    order = order_placed(order_id="o-9")
    unnotified = facts_of(completed_run(order)[:-1])
    assert verdict(unnotified, LATER, T) == {"lost"}


def test_an_order_seen_without_its_placed_event_is_not_judged_until_it_comes() -> None:
    # Its history began before the auditor's (a group started at the end of the topics,
    # a retry of an older order): a missing reservation or notice is out of its sight.
    order = order_placed(order_id="o-9b")
    run = completed_run(order)
    orphan = facts_of(run[1:-1])  # everything but the OrderPlaced and the notice
    assert verdict(orphan, LATER, T) == frozenset()
    assert settled(orphan, LATER, T) and not audited(orphan)
    # Its OrderPlaced arrives late (topics read at different speeds): judged from then.
    placed = fold(orphan, run[0], START)
    assert audited(placed) and verdict(placed, LATER, T) == {"lost"}
    # A second charge is a fact whoever saw the start.
    twice = fold(orphan, payment_authorized("o-9b"), START + 1)
    assert "double_charged" in verdict(twice, LATER, T)


def test_stock_sold_without_a_reservation_is_oversold_a_kept_one_a_leak() -> None:
    order = order_placed(order_id="o-10")
    unreserved = [e for e in completed_run(order) if type(e).__name__ != "InventoryReserved"]
    unreleased = [e for e in cancelled_run(order) if type(e).__name__ != "InventoryReleased"]

    assert verdict(facts_of(unreserved), LATER, T) == {"oversold"}
    assert verdict(facts_of(unreleased), LATER, T) == {"stock_leak"}


def test_two_notices_and_two_outcomes_are_counted() -> None:
    order = order_placed(order_id="o-11")
    late = order_cancelled(order)
    facts = facts_of([*completed_run(order), late, notice(order, late)])

    kinds = verdict(facts, None, T)

    assert kinds == {"duplicate_notices", "conflicting_outcomes"}


@pytest.mark.parametrize(
    ("completed", "reserved", "released", "problem"),
    [
        (True, 1, 0, None),
        (False, 1, 1, None),
        (False, 0, 0, None),
        (True, 0, 0, "completed without its reservation"),
        (True, 1, 1, "completed, reservation released"),
        (False, 1, 0, "cancelled, reservation kept"),
        (False, 0, 1, "released without a reservation"),
        (True, 2, 0, "reserved or released twice"),
        (False, 1, 2, "reserved or released twice"),
    ],
)
def test_reservation_problem(completed: bool, reserved: int, released: int, problem: str) -> None:
    assert reservation_problem(completed, reserved, released) == problem


def test_expected_net_charge() -> None:
    assert expected_net_charge(True, Decimal("9.50")) == Decimal("9.50")
    assert expected_net_charge(False, Decimal("9.50")) == 0


def test_facts_survive_the_table_and_last_at_is_the_newest_event() -> None:
    facts = facts_of(cancelled_run(order_placed(order_id="o-12")))

    assert load(dump(facts)) == facts
    assert last_at(facts) == pytest.approx(START + 0.06)


def test_a_summary_names_at_most_max_named_orders_and_decodes() -> None:
    verdicts = {f"o-{i:03}": frozenset({"overdue"}) for i in range(MAX_NAMED + 5)}
    verdicts["o-ok"] = frozenset()

    summary = summarize(
        verdicts, group="auditor", partition=3, orders=99, pending=4, checked_at=LATER
    )

    assert summary.overdue == MAX_NAMED + 5
    assert len(summary.violations) == MAX_NAMED
    assert decode(encode(summary)) == summary
    again = summarize(verdicts, group="auditor", partition=3, orders=99, pending=4, checked_at=0)
    assert same_verdict(summary, again)
    assert not same_verdict(None, again)
