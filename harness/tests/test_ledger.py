"""``harness.ledger.check`` over facts built by hand (no broker): it judges orders by the
auditor's rules (``auditor.domain``)."""

from __future__ import annotations

from decimal import Decimal

from contracts import NotificationSent, reaction
from contracts.testing import order_cancelled, order_completed, order_placed
from harness.ledger import RunFacts, check


def facts_with(*, completed: bool, reserved: bool, released: bool, charged: str) -> RunFacts:
    facts = RunFacts()
    order = order_placed(order_id="o-1", amount="10.00")
    outcome = order_completed(order) if completed else order_cancelled(order)
    facts.placed["o-1"] = order
    facts.outcomes["o-1"].append(outcome)
    notice = reaction(
        outcome,
        NotificationSent,
        user_id=order.user_id,
        outcome="completed" if completed else "cancelled",
        channel="console",
        subject="s",
        body="b",
    )
    facts.notices["o-1"].append(notice)
    facts.charged["o-1"] += Decimal(charged)
    facts.authorizations["o-1"] += Decimal(charged) > 0
    if reserved:
        facts.reserved["o-1"] = {"p-1": 1}
    if released:
        facts.released["o-1"] = {"p-1": 1}
    return facts


API = {"o-1": {"status": "COMPLETED"}}


def test_a_completed_order_that_kept_its_promises_is_ok() -> None:
    verdict = check(
        facts_with(completed=True, reserved=True, released=False, charged="10.00"), ["o-1"], API
    )

    assert verdict.ok, verdict.violations


def test_a_cancelled_order_that_kept_its_stock_and_money_breaks_two_rules() -> None:
    facts = facts_with(completed=False, reserved=True, released=False, charged="10.00")

    verdict = check(facts, ["o-1"], {"o-1": {"status": "CANCELLED"}})

    assert verdict.violations["leaked_reservations"] == ["o-1: cancelled, reservation kept"]
    assert verdict.violations["wrong_net_charge"] == ["o-1: net 10.00, wanted 0"]
    assert verdict.counts()["double_charged"] == 0
