"""The co-hosted app: every service's agents and tables in one app, as each installs them."""

from __future__ import annotations

import pytest

from cohost.app import create_app
from cohost.settings import CohostSettings
from harness.services import COHOSTED, SERVICES, WORKERS, cohosted


def test_one_app_holds_every_service_agent_and_table_once() -> None:
    app = create_app()
    assert str(app.conf.id) == "workers"
    assert sorted(app.agents) == [
        "authorize_payments",  # payment
        "count_events",  # analytics
        "decide_orders",  # saga
        "merge_minutes",  # analytics
        "notify_customers",  # notification
        "reserve_stock",  # inventory
        "retry_tier_0",  # one set of retry tiers for every guard
        "retry_tier_1",
        "retry_tier_2",
    ]
    assert sorted(app.tables) == [
        "buckets",
        "ledger",
        "minutes",
        "notices",
        "orders",
        "sagas",
        "watermarks",
    ]
    # The saga's workers tick their own partitions: no leader election (saga.agent).
    assert app.conf.topic_disable_leader is True


def test_a_subset_of_services(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKERS_SERVICES", "payment,notification")
    monkeypatch.setenv("WORKERS_GROUP", "pn")
    app = create_app()
    assert str(app.conf.id) == "pn"
    assert {"authorize_payments", "notify_customers"} <= set(app.agents)
    assert "decide_orders" not in app.agents
    assert app.conf.topic_disable_leader is True


def test_an_unknown_service_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKERS_SERVICES", "payment,gateway")
    with pytest.raises(ValueError, match="WORKERS_SERVICES: gateway is not one of"):
        CohostSettings()


def test_the_platform_table_runs_one_workers_row_in_place_of_the_five() -> None:
    names = [s.name for s in cohosted(SERVICES)]
    assert not set(COHOSTED) & set(names)
    assert names.count("workers") == 1
    assert names.index("workers") == [s.name for s in SERVICES].index(COHOSTED[0])
    assert "auditor" in names  # the auditor stays a process of its own: it judges the rest
    assert WORKERS.setup  # the inventory's catalogue is seeded as for its own worker
