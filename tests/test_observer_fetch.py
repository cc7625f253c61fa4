"""Which workers coalesce their fetches (``OBSERVER_FETCH_WAIT_MS``, ``streaming.fetch``):
the ones nobody waits on do, the saga's own hops never do. No broker needed: the apps
are made, not started."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from analytics.app import create_app as analytics_app
from auditor.app import create_app as auditor_app
from notification.app import create_app as notification_app
from payment.app import create_app as payment_app
from streaming.fetch import CoalescingConsumerThread


def _thread(app: Any) -> Any:
    return app.consumer._new_consumer_thread()


@pytest.mark.parametrize("make", [notification_app, analytics_app, auditor_app])
async def test_observers_fetch_every_wait(
    make: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBSERVER_FETCH_WAIT_MS", "80")
    thread = _thread(make(route_failures=False))
    assert isinstance(thread, CoalescingConsumerThread)
    assert thread.wait_ms == 80


@pytest.mark.parametrize("make", [notification_app, auditor_app])
async def test_a_zero_wait_turns_it_off(
    make: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBSERVER_FETCH_WAIT_MS", "0")
    assert not isinstance(_thread(make(route_failures=False)), CoalescingConsumerThread)


async def test_the_saga_hops_answer_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBSERVER_FETCH_WAIT_MS", "80")
    assert not isinstance(_thread(payment_app(route_failures=False)), CoalescingConsumerThread)


async def test_coalescing_keeps_the_write_behind_producer(monkeypatch: pytest.MonkeyPatch) -> None:
    from streaming.write_behind import WriteBehindProducer

    monkeypatch.setenv("OBSERVER_FETCH_WAIT_MS", "80")
    app = auditor_app(route_failures=False)
    assert isinstance(_thread(app), CoalescingConsumerThread)
    assert isinstance(app.producer, WriteBehindProducer)
