"""The saga's decisions, without Kafka: correlation, precedence, deadlines, forgetting."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import (
    DeadlineTick,
    InventoryRejected,
    InventoryReserved,
    OrderCancelled,
    OrderCompleted,
    OrderLine,
    OrderPlaced,
    PaymentAuthorized,
    PaymentDeclined,
    Shortage,
    StockLine,
    decode,
    derived_id,
    encode,
    reaction,
)
from saga.domain import (
    DETAIL_LIMIT,
    Decided,
    OrderOutcome,
    Pending,
    SagaInput,
    SagaState,
    SagaStep,
    Timing,
    decide,
    due_at,
    dump_state,
    evolve,
    load_state,
    outcome_id,
    react,
    record_decision,
    tick,
    tick_time,
)

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TIMING = Timing(deadline=timedelta(seconds=30), retention=timedelta(minutes=10))
#: The saga's clock when the first events arrive: at once (a late delivery is tested apart).
START = T0
P = 3  # the partition of the order under test
ORDER = "order-1"


def ms(n: float) -> timedelta:
    return timedelta(milliseconds=n)


def placed(order_id: str = ORDER, *, at: datetime = T0, user: str = "user-1") -> OrderPlaced:
    return OrderPlaced(
        occurred_at=at,
        order_id=order_id,
        correlation_id=f"corr-{order_id}",
        user_id=user,
        currency="EUR",
        amount=Decimal("30.00"),
        items=(
            OrderLine(product_id="p-1", quantity=3, unit_price=Decimal("5.00")),
            OrderLine(product_id="p-2", quantity=1, unit_price=Decimal("15.00")),
        ),
    )


def authorized(order: OrderPlaced | None = None) -> PaymentAuthorized:
    order = order or placed()
    return reaction(
        order,
        PaymentAuthorized,
        occurred_at=order.occurred_at + ms(5),
        user_id=order.user_id,
        amount=order.amount,
        currency=order.currency,
    )


def declined(
    order: OrderPlaced | None = None, reason: str = "credit_limit_exceeded"
) -> PaymentDeclined:
    order = order or placed()
    return reaction(
        order,
        PaymentDeclined,
        occurred_at=order.occurred_at + ms(5),
        user_id=order.user_id,
        amount=order.amount,
        currency=order.currency,
        reason=reason,
    )


def reserved(order: OrderPlaced | None = None) -> InventoryReserved:
    order = order or placed()
    return reaction(
        order,
        InventoryReserved,
        occurred_at=order.occurred_at + ms(7),
        items=tuple(StockLine(product_id=i.product_id, quantity=i.quantity) for i in order.items),
    )


def rejected(order: OrderPlaced | None = None) -> InventoryRejected:
    order = order or placed()
    return reaction(
        order,
        InventoryRejected,
        occurred_at=order.occurred_at + ms(7),
        shortages=(
            Shortage(product_id="p-1", requested=3, available=1),
            Shortage(product_id="p-2", requested=1, available=0),
        ),
    )


def clock(at: datetime, partition: int = P) -> DeadlineTick:
    return DeadlineTick(occurred_at=at, correlation_id="saga-ticker", partition=partition)


def feed(
    events: Iterable[SagaInput | DeadlineTick],
    state: SagaState | None = None,
    *,
    now: datetime = START,
    timing: Timing = TIMING,
) -> tuple[SagaState | None, list[OrderOutcome]]:
    """Run events through ``react``/``tick`` like the worker does; the clock follows ticks."""
    emitted: list[OrderOutcome] = []
    for event in events:
        if isinstance(event, DeadlineTick):
            now = max(now, event.occurred_at)
            if state is None:
                continue
            step = tick(state, event, timing=timing)
        else:
            step = react(state, event, partition=P, now=now, timing=timing)
        state = step.state
        emitted.extend(step.emit)
    return state, emitted


def only(outcomes: Sequence[OrderOutcome]) -> OrderOutcome:
    assert len(outcomes) == 1, outcomes
    return outcomes[0]


# -- both answers -----------------------------------------------------------------


def test_both_answers_positive_complete_the_order() -> None:
    order, pay, inv = placed(), authorized(), reserved()
    state, emitted = feed([order, pay, inv])
    outcome = only(emitted)
    assert outcome == OrderCompleted(
        event_id=derived_id(ORDER, "order.completed.v1"),
        occurred_at=START,
        order_id=ORDER,
        correlation_id="corr-order-1",
        causation_id=str(inv.event_id),
        user_id="user-1",
        amount=Decimal("30.00"),
        currency="EUR",
    )
    assert isinstance(state, Decided)
    assert state.outcome == outcome
    assert state.partition == P


@pytest.mark.parametrize(
    "events",
    [
        lambda o: [o, authorized(o), reserved(o)],
        lambda o: [o, reserved(o), authorized(o)],
        lambda o: [reserved(o), o, authorized(o)],
        lambda o: [authorized(o), reserved(o), o],
    ],
    ids=["placed-pay-inv", "placed-inv-pay", "inv-placed-pay", "pay-inv-placed"],
)
def test_completion_does_not_depend_on_the_arrival_order(events: object) -> None:
    order = placed()
    _, emitted = feed(events(order))  # type: ignore[operator]
    outcome = only(emitted)
    assert isinstance(outcome, OrderCompleted)
    assert outcome.event_id == outcome_id(ORDER, OrderCompleted)


def test_answers_before_the_order_event_decide_anyway() -> None:
    """PaymentAuthorized carries user, amount and currency: the OrderPlaced is not needed."""
    state, emitted = feed([authorized(), reserved()])
    outcome = only(emitted)
    assert isinstance(outcome, OrderCompleted)
    assert (outcome.user_id, outcome.amount, outcome.currency) == (
        "user-1",
        Decimal("30.00"),
        "EUR",
    )
    assert outcome.correlation_id == "corr-order-1"
    # the OrderPlaced that finally shows up changes nothing
    state, later = feed([placed()], state)
    assert later == []
    assert isinstance(state, Decided)


# -- negative answers ----------------------------------------------------------------


def test_a_payment_decline_cancels_at_once_with_its_reason() -> None:
    pay = declined(reason="customer_blocked")
    state, emitted = feed([placed(), pay])
    outcome = only(emitted)
    assert isinstance(outcome, OrderCancelled)
    assert (outcome.reason, outcome.detail) == ("payment_declined", "customer_blocked")
    assert outcome.event_id == derived_id(ORDER, "order.cancelled.v1")
    assert outcome.causation_id == str(pay.event_id)
    assert outcome.user_id == "user-1"
    assert isinstance(state, Decided)


def test_a_payment_decline_alone_is_enough() -> None:
    _, emitted = feed([declined()])
    assert only(emitted).reason == "payment_declined"  # type: ignore[union-attr]


def test_a_rejection_with_an_authorized_payment_is_out_of_stock_with_the_short_lines() -> None:
    _, emitted = feed([placed(), rejected(), authorized()])
    outcome = only(emitted)
    assert isinstance(outcome, OrderCancelled)
    assert outcome.reason == "out_of_stock"
    assert outcome.detail == "p-1: requested 3, available 1; p-2: requested 1, available 0"


def test_a_rejection_waits_for_the_payment_because_a_decline_comes_first() -> None:
    state, emitted = feed([placed(), rejected()])
    assert emitted == []
    assert isinstance(state, Pending)
    _, emitted = feed([declined()], state)
    assert only(emitted).reason == "payment_declined"  # type: ignore[union-attr]


@pytest.mark.parametrize("first_inventory", [True, False])
def test_two_negative_answers_give_the_same_reason_in_either_order(first_inventory: bool) -> None:
    answers: list[SagaInput] = [rejected(), declined()]
    if not first_inventory:
        answers.reverse()
    _, emitted = feed([placed(), *answers])
    outcome = only(emitted)
    assert isinstance(outcome, OrderCancelled)
    assert (outcome.reason, outcome.detail) == ("payment_declined", "credit_limit_exceeded")


def test_a_rejection_without_payment_answer_is_out_of_stock_at_the_deadline() -> None:
    state, emitted = feed([placed(), rejected(), clock(T0 + ms(29_999))])
    assert emitted == []
    _, emitted = feed([clock(T0 + timedelta(seconds=30))], state)
    outcome = only(emitted)
    assert outcome.reason == "out_of_stock"  # type: ignore[union-attr]


# -- the deadline -----------------------------------------------------------------------


def test_nothing_happens_before_the_deadline() -> None:
    state, emitted = feed([placed(), authorized(), clock(T0 + ms(29_999))])
    assert emitted == []
    assert isinstance(state, Pending)
    assert state.deadline == T0 + timedelta(seconds=30)


def test_the_deadline_cancels_with_timeout_naming_the_missing_answers() -> None:
    tick_ = clock(T0 + timedelta(seconds=30))
    state, emitted = feed([placed(), tick_])
    outcome = only(emitted)
    assert isinstance(outcome, OrderCancelled)
    assert outcome.reason == "timeout"
    assert outcome.detail == "no answer from payment and inventory by the deadline"
    assert outcome.causation_id == str(tick_.event_id)
    assert outcome.occurred_at == tick_.occurred_at
    assert outcome.user_id == "user-1"
    assert outcome.event_id == outcome_id(ORDER, OrderCancelled)
    assert isinstance(state, Decided)


@pytest.mark.parametrize(("answer", "missing"), [(authorized, "inventory"), (reserved, "payment")])
def test_a_timeout_says_which_answer_is_missing(answer: object, missing: str) -> None:
    _, emitted = feed([placed(), answer(), clock(T0 + timedelta(seconds=31))])  # type: ignore[operator]
    assert only(emitted).detail == f"no answer from {missing} by the deadline"  # type: ignore[union-attr]


def test_the_deadline_is_configurable() -> None:
    short = Timing(deadline=timedelta(seconds=3), retention=timedelta(seconds=60))
    state, emitted = feed([placed(), clock(T0 + ms(2_999))], timing=short)
    assert emitted == []
    _, emitted = feed([clock(T0 + ms(3_000))], state, timing=short)
    assert only(emitted).reason == "timeout"  # type: ignore[union-attr]


@pytest.mark.parametrize("delay", [timedelta(seconds=60), timedelta(minutes=5)])
def test_the_deadline_counts_from_when_the_saga_saw_the_order_not_from_the_event(
    delay: timedelta,
) -> None:
    """An OrderPlaced delayed by an outage: the outcome is delayed, not turned into a timeout."""
    seen = T0 + delay
    order = placed()
    state, emitted = feed([order, clock(seen + ms(1))], now=seen)
    assert emitted == []
    assert isinstance(state, Pending)
    assert state.deadline == seen + TIMING.deadline
    # the participants answer the late order: it completes
    _, emitted = feed(
        [clock(seen + ms(500)), authorized(order), clock(seen + ms(900)), reserved(order)], state
    )
    assert isinstance(only(emitted), OrderCompleted)
    # unanswered, it times out its full deadline after the saga saw it, not before
    assert feed([clock(seen + TIMING.deadline - ms(1))], state)[1] == []
    assert only(feed([clock(seen + TIMING.deadline)], state)[1]).reason == "timeout"  # type: ignore[union-attr]


def test_a_gateway_clock_ahead_of_the_saga_s_extends_the_deadline() -> None:
    ahead = placed(at=START + timedelta(seconds=2))
    state, _ = feed([ahead])
    assert isinstance(state, Pending)
    assert state.deadline == START + timedelta(seconds=2) + TIMING.deadline


def test_an_order_delivered_later_than_any_horizon_is_cancelled_as_a_timeout() -> None:
    """700 s late: payment and inventory ignore it as stale (no answer), the saga cancels
    it its deadline after seeing it; it never stays pending."""
    seen = T0 + timedelta(seconds=700)
    state, emitted = feed([placed()], now=seen)
    assert isinstance(state, Pending)
    assert state.deadline == seen + TIMING.deadline
    state, emitted = feed([clock(seen + TIMING.deadline)], state)
    outcome = only(emitted)
    assert isinstance(outcome, OrderCancelled)
    assert (outcome.reason, outcome.detail) == (
        "timeout",
        "no answer from payment and inventory by the deadline",
    )
    assert outcome.event_id == outcome_id(ORDER, OrderCancelled)
    assert isinstance(state, Decided)


def test_a_future_dated_tick_cancels_nothing() -> None:
    """A forged tick a year ahead: honoured only up to the saga's wall clock."""
    state, _ = feed([placed(), authorized()])
    assert isinstance(state, Pending)
    forged = clock(T0 + timedelta(days=365))
    for wall in (T0 + ms(1), T0 + timedelta(seconds=29)):
        assert tick(state, forged, timing=TIMING, now=wall) == SagaStep(state)
    # a decided marker is not forgotten early either
    decided, _ = feed([reserved()], state)
    assert isinstance(decided, Decided)
    assert tick(decided, forged, timing=TIMING, now=T0 + timedelta(minutes=1)) == SagaStep(decided)
    # once the wall clock reaches the deadline, the same tick counts as the wall clock
    step = tick(state, forged, timing=TIMING, now=T0 + TIMING.deadline)
    assert only(step.emit).occurred_at == T0 + TIMING.deadline
    assert tick_time(forged, T0) == T0
    assert tick_time(forged) == forged.occurred_at


def test_a_decided_order_is_never_decided_again() -> None:
    order = placed()
    state, emitted = feed([order, clock(T0 + timedelta(seconds=30))])
    assert only(emitted).reason == "timeout"  # type: ignore[union-attr]
    # the late answers, duplicates and later ticks emit nothing and change nothing
    after, more = feed(
        [authorized(order), reserved(order), order, clock(T0 + timedelta(seconds=40))], state
    )
    assert more == []
    assert after == state


def test_a_tick_of_another_partition_touches_nothing() -> None:
    state, _ = feed([placed()])
    assert state is not None
    assert tick(state, clock(T0 + timedelta(hours=1), partition=P + 1)) == SagaStep(state)


# -- at least once: duplicates and redelivery ------------------------------------------


def test_duplicates_are_recorded_once() -> None:
    order, pay = placed(), authorized()
    state, _ = feed([order, pay])
    again, emitted = feed([order, pay, order], state)
    assert again == state
    assert emitted == []


def test_the_first_answer_of_each_participant_wins() -> None:
    state, _ = feed([placed(), authorized()])
    assert isinstance(state, Pending)
    contradicting = declined()
    assert evolve(state, contradicting, partition=P, now=T0, timing=TIMING) == state


def test_a_redelivered_deciding_event_emits_the_identical_outcome_again() -> None:
    order, pay, inv = placed(), authorized(), reserved()
    state, [first] = feed([order, pay, inv])
    # a crash lost the send: the redelivery of the deciding event re-emits it, byte for byte
    _, again = feed([inv], state, now=T0 + timedelta(seconds=5))
    assert again == [first]
    assert encode(again[0]) == encode(first)
    # any other event (here the other answer, redelivered too) emits nothing
    assert feed([pay, order], state)[1] == []


def test_a_redelivered_deciding_tick_emits_the_identical_outcome_again() -> None:
    tick_ = clock(T0 + timedelta(seconds=30))
    state, [first] = feed([placed(), tick_])
    assert state is not None
    assert tick(state, tick_, timing=TIMING) == SagaStep(state, (first,))
    assert tick(state, clock(T0 + timedelta(seconds=31)), timing=TIMING) == SagaStep(state)


def test_a_re_decision_from_scratch_carries_the_same_event_id() -> None:
    """Lost table write, redelivered events, another trigger: still the same outcome id."""
    order, pay, inv = placed(), authorized(), reserved()
    _, [one] = feed([order, pay, inv])
    _, [two] = feed([inv, pay], now=T0 + timedelta(seconds=9))
    assert one.event_id == two.event_id
    assert one.causation_id != two.causation_id
    assert (
        msgspec.structs.replace(two, occurred_at=one.occurred_at, causation_id=one.causation_id)
        == one
    )


# -- forgetting ------------------------------------------------------------------------


def test_a_decided_marker_is_forgotten_after_the_retention() -> None:
    state, _ = feed([placed(), authorized(), reserved()])
    assert isinstance(state, Decided)
    # decided before the deadline: the retention counts from the deadline
    assert state.forget_at == T0 + timedelta(seconds=30) + timedelta(minutes=10)
    assert tick(state, clock(state.forget_at - ms(1)), timing=TIMING) == SagaStep(state)
    assert tick(state, clock(state.forget_at), timing=TIMING) == SagaStep(None)


def test_a_marker_decided_after_the_deadline_lives_retention_from_the_decision() -> None:
    decided_at = T0 + timedelta(seconds=45)
    state, _ = feed([placed()])
    state, _ = feed([authorized(), reserved()], state, now=decided_at)
    assert isinstance(state, Decided)
    assert state.forget_at == decided_at + timedelta(minutes=10)


def test_a_marker_without_order_event_outlives_any_deadline_it_could_have_had() -> None:
    state, _ = feed([declined()], now=T0 + ms(10))
    assert isinstance(state, Decided)
    assert state.forget_at == T0 + ms(10) + timedelta(seconds=30) + timedelta(minutes=10)


def test_the_retention_is_configurable() -> None:
    quick = Timing(deadline=timedelta(seconds=3), retention=timedelta(seconds=5))
    state, _ = feed([placed(), declined()], timing=quick)
    assert isinstance(state, Decided)
    assert state.forget_at == T0 + timedelta(seconds=8)


def test_a_single_answer_without_order_event_never_times_out() -> None:
    """A very late answer of a forgotten saga must not cancel an order completed long ago."""
    since = T0 + timedelta(hours=2)
    state, emitted = feed([authorized()], now=since)
    assert isinstance(state, Pending)
    assert state.deadline is None
    for later in (timedelta(seconds=31), timedelta(minutes=5)):
        state, emitted = feed([clock(since + later)], state)
        assert emitted == []
    # it is forgotten silently deadline + retention after it appeared
    assert due_at(state, TIMING) == since + timedelta(seconds=30) + timedelta(minutes=10)
    assert feed([clock(due_at(state, TIMING))], state) == (None, [])


def test_an_order_event_older_than_the_marker_gets_a_deadline_too() -> None:
    """Older than deadline + retention, its marker may be gone: the saga cannot tell a
    first delivery that late from a copy, and never leaves an order pending (see the
    module docstring for the price)."""
    order = placed()
    now = T0 + timedelta(seconds=30) + timedelta(minutes=10)
    state, _ = feed([order], now=now)
    assert isinstance(state, Pending)
    assert state.deadline == now + TIMING.deadline
    # answered again by the participants (same answers), it is decided like any order
    _, emitted = feed([authorized(order), reserved(order)], state)
    assert isinstance(only(emitted), OrderCompleted)


def test_a_fresh_order_event_always_finds_its_marker() -> None:
    """The marker outlives occurred_at + deadline + retention, the staleness limit."""
    for decided_at in (T0 + ms(1), T0 + timedelta(seconds=29), T0 + timedelta(minutes=3)):
        state, _ = feed([placed(), declined()], now=decided_at)
        assert isinstance(state, Decided)
        assert state.forget_at >= T0 + TIMING.deadline + TIMING.retention


# -- the partition ---------------------------------------------------------------------


def test_the_partition_is_the_one_of_the_first_event() -> None:
    first = react(None, authorized(), partition=5, now=T0, timing=TIMING).state
    assert first is not None
    later = react(first, placed(), partition=1, now=T0, timing=TIMING).state
    assert later is not None
    assert (first.partition, later.partition) == (5, 5)


# -- pieces ------------------------------------------------------------------------------


def test_decide_leaves_an_open_order_open() -> None:
    state = evolve(None, placed(), partition=P, now=T0, timing=TIMING)
    for partial in (state, evolve(state, authorized(), partition=P, now=T0, timing=TIMING)):
        assert decide(partial, cause=placed(), at=T0) is None


def test_settle_keeps_the_partition_and_the_outcome() -> None:
    state = evolve(None, placed(), partition=4, now=T0, timing=TIMING)
    outcome = decide(state, cause=placed(), at=T0 + timedelta(seconds=30), expired=True)
    assert outcome is not None
    marker = record_decision(state, outcome, now=T0 + timedelta(seconds=30), timing=TIMING)
    assert (marker.partition, marker.outcome) == (4, outcome)


def test_due_at_is_the_deadline_then_the_forget_time() -> None:
    state, _ = feed([placed()])
    assert state is not None
    assert due_at(state, TIMING) == T0 + timedelta(seconds=30)
    decided, _ = feed([clock(T0 + timedelta(seconds=30))], state)
    assert decided is not None
    assert due_at(decided, TIMING) == T0 + timedelta(seconds=30) + timedelta(minutes=10)


def test_outcome_ids_come_from_the_order_id_and_type() -> None:
    assert outcome_id("o-1", OrderCompleted) == derived_id("o-1", "order.completed.v1")
    assert outcome_id("o-1", OrderCompleted) == outcome_id("o-1", OrderCompleted)
    assert outcome_id("o-1", OrderCompleted) != outcome_id("o-1", OrderCancelled)
    assert outcome_id("o-1", OrderCompleted) != outcome_id("o-2", OrderCompleted)


def test_a_long_detail_is_clipped_to_what_the_contract_allows() -> None:
    order = placed()
    pay = declined(order, reason="x" * 2_000)
    many = reaction(
        order,
        InventoryRejected,
        shortages=tuple(
            Shortage(product_id=f"product-{i:04d}", requested=10, available=0) for i in range(100)
        ),
    )
    for events in ([order, pay], [order, many, authorized(order)]):
        _, [outcome] = feed(events)
        assert isinstance(outcome, OrderCancelled)
        assert len(outcome.detail) <= DETAIL_LIMIT
        assert decode(encode(outcome)) == outcome


def test_outcomes_are_valid_contract_events() -> None:
    for events in (
        [placed(), authorized(), reserved()],
        [placed(), declined()],
        [placed(), rejected(), authorized()],
        [placed(), clock(T0 + timedelta(seconds=30))],
    ):
        _, [outcome] = feed(events)
        assert decode(encode(outcome)) == outcome


@pytest.mark.parametrize(
    "events",
    [
        [placed()],
        [rejected()],
        [placed(), authorized(), reserved()],
        [placed(), clock(T0 + timedelta(seconds=30))],
    ],
)
def test_states_round_trip_through_their_bytes(events: list[SagaInput | DeadlineTick]) -> None:
    state, _ = feed(events)
    assert state is not None
    data = dump_state(state)
    assert load_state(data) == state
    assert dump_state(load_state(data)) == data


@pytest.mark.parametrize(("deadline", "retention"), [(0, 60), (-1, 60), (30, -1)])
def test_nonsensical_timings_are_refused(deadline: float, retention: float) -> None:
    with pytest.raises(ValueError):
        Timing(deadline=timedelta(seconds=deadline), retention=timedelta(seconds=retention))


# -- the property: any order, any duplication ---------------------------------------------

BEFORE = clock(T0 + timedelta(seconds=10))
AFTER = clock(T0 + timedelta(seconds=30, milliseconds=1))
#: Past the deadline of an order however late in this scenario its OrderPlaced came.
FINAL = clock(T0 + timedelta(minutes=2))
TICKS = (BEFORE, AFTER, FINAL)


@dataclass(frozen=True)
class Scenario:
    """One order's events: which answers exist, and whether its OrderPlaced does."""

    order: OrderPlaced
    with_placed: bool
    payment: PaymentAuthorized | PaymentDeclined | None
    inventory: InventoryReserved | InventoryRejected | None

    def events(self) -> list[SagaInput | DeadlineTick]:
        found: list[SagaInput | DeadlineTick | None] = [
            self.order if self.with_placed else None,
            self.payment,
            self.inventory,
            *TICKS,
        ]
        return [e for e in found if e is not None]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    order = placed(f"order-{draw(st.integers(0, 10**6))}")
    payment = draw(st.sampled_from([authorized(order), declined(order), None]))
    inventory = draw(st.sampled_from([reserved(order), rejected(order), None]))
    return Scenario(order, draw(st.booleans()), payment, inventory)


def by_answers(payment: object, inventory: object) -> tuple[type[OrderOutcome], str | None] | None:
    """The outcome the answers alone settle: the table of the module docstring."""
    if isinstance(payment, PaymentDeclined):
        return OrderCancelled, "payment_declined"
    if isinstance(payment, PaymentAuthorized) and isinstance(inventory, InventoryRejected):
        return OrderCancelled, "out_of_stock"
    if isinstance(payment, PaymentAuthorized) and isinstance(inventory, InventoryReserved):
        return OrderCompleted, None
    return None


def expected(
    events: Sequence[SagaInput | DeadlineTick],
) -> tuple[int, tuple[type[OrderOutcome], str | None]] | None:
    """Where the outcome is decided and what it is, or ``None`` for no outcome at all.

    The answers decide as soon as the ones seen settle the table; the deadline, counted
    from when the saga saw the OrderPlaced (the clock follows the ticks), fires at the
    first tick at or past it, with the answers seen by then.
    """
    payment = inventory = None
    now, deadline = START, None
    for index, event in enumerate(events):
        if isinstance(event, PaymentAuthorized | PaymentDeclined):
            payment = payment or event
        elif isinstance(event, InventoryReserved | InventoryRejected):
            inventory = inventory or event
        elif isinstance(event, OrderPlaced):
            deadline = deadline or max(now, event.occurred_at) + TIMING.deadline
        elif isinstance(event, DeadlineTick):
            now = max(now, event.occurred_at)
            if deadline is not None and event.occurred_at >= deadline:
                reason = "out_of_stock" if isinstance(inventory, InventoryRejected) else "timeout"
                return index, (OrderCancelled, reason)
        settled = by_answers(payment, inventory)
        if settled is not None:
            return index, settled
    return None


@settings(max_examples=400, deadline=None)
@given(scenario=scenarios(), data=st.data())
def test_every_order_and_duplication_gives_one_outcome(
    scenario: Scenario, data: st.DataObject
) -> None:
    base = scenario.events()
    extra = data.draw(st.lists(st.sampled_from(base), max_size=8), label="duplicates")
    events = data.draw(st.permutations([*base, *extra]), label="arrival order")

    emitted: list[OrderOutcome] = []
    state: SagaState | None = None
    decided_at: int | None = None
    now = START
    for index, event in enumerate(events):
        if isinstance(event, DeadlineTick):
            now = max(now, event.occurred_at)
            step = SagaStep(None) if state is None else tick(state, event, timing=TIMING)
        else:
            step = react(state, event, partition=P, now=now, timing=TIMING)
        if step.emit and decided_at is None:
            decided_at = index
        state = step.state
        emitted.extend(step.emit)

    want = expected(events)
    if want is None:
        # no decision possible: no outcome at all, in particular none before the deadline
        assert emitted == []
        assert state is None or isinstance(state, Pending)
        return
    index, (cls, reason) = want
    assert decided_at == index
    first = emitted[0]
    # one outcome: every copy is identical, and the only copies are re-emissions for
    # redeliveries of the very event that decided
    assert all(copy == first for copy in emitted)
    redelivered = [e for e in events[index + 1 :] if str(e.event_id) == first.causation_id]
    assert len(emitted) == 1 + len(redelivered)
    assert type(first) is cls
    assert first.event_id == outcome_id(scenario.order.order_id, cls)
    assert first.order_id == scenario.order.order_id
    assert first.user_id == "user-1"
    if isinstance(first, OrderCancelled):
        assert first.reason == reason
    assert isinstance(state, Decided)
    assert state.outcome == first


@settings(max_examples=200, deadline=None)
@given(scenario=scenarios(), data=st.data())
def test_without_the_deadline_the_outcome_is_the_same_in_every_order(
    scenario: Scenario, data: st.DataObject
) -> None:
    """Ticks before the deadline only: the whole outcome, detail included, is fixed."""
    base = [e for e in scenario.events() if e is BEFORE or not isinstance(e, DeadlineTick)]
    extra = data.draw(st.lists(st.sampled_from(base), max_size=6))
    one = data.draw(st.permutations([*base, *extra]))
    two = data.draw(st.permutations([*base, *extra]))
    outcomes = []
    for events in (one, two):
        _, emitted = feed(events)
        outcomes.append(
            {msgspec.structs.replace(e, occurred_at=T0, causation_id=None) for e in emitted}
        )
    assert outcomes[0] == outcomes[1]
    assert len(outcomes[0]) == (1 if by_answers(scenario.payment, scenario.inventory) else 0)


@settings(max_examples=200, deadline=None)
@given(
    delay=st.integers(0, 20 * 60 * 1000),
    first=st.integers(0, 29_999),
    second=st.integers(0, 29_999),
)
def test_an_order_delayed_by_an_outage_is_decided_by_its_answers(
    delay: int, first: int, second: int
) -> None:
    """However late the OrderPlaced reaches the saga, answers that follow within the
    deadline decide it: an outage delays outcomes, it never makes them timeouts."""
    seen = T0 + ms(delay)
    order = placed()
    state, _ = feed([order], now=seen)
    a, b = sorted((first, second))
    state, emitted = feed(
        [clock(seen + ms(a)), authorized(order), clock(seen + ms(b)), reserved(order)], state
    )
    assert isinstance(only(emitted), OrderCompleted)
    assert isinstance(state, Decided)
