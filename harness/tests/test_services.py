"""The process table: scale and selection parsing, instance naming."""

from __future__ import annotations

import pytest

from harness.services import (
    SERVICES,
    ServiceError,
    instances,
    parse_only,
    parse_scale,
)


def test_parse_scale() -> None:
    assert parse_scale("payment=3") == {"payment": 3}
    assert parse_scale(" payment = 2 , ") == {"payment": 2}
    assert parse_scale("") == {}
    assert parse_scale("gateway=1") == {"gateway": 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("shipping=2", "unknown service 'shipping'; known services: gateway, relay"),
        ("payment=three", "'three' is not a whole number"),
        ("payment=0", "the count must be at least 1"),
        ("payment", "expected SERVICE=COUNT, e.g. payment=3"),
        ("=3", "expected SERVICE=COUNT"),
        ("payment=2,payment=3", "payment is given twice"),
        ("gateway=2", "gateway runs once and cannot scale; scalable: payment"),
    ],
)
def test_parse_scale_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ServiceError, match=message):
        parse_scale(text)


def test_parse_only_keeps_table_order_and_rejects_unknown_names() -> None:
    assert parse_only("payment, gateway") == ["gateway", "payment"]
    assert parse_only("") == [s.name for s in SERVICES]
    with pytest.raises(ServiceError, match="unknown service 'gatway'"):
        parse_only("gatway")


def test_scaled_services_get_numbered_instances() -> None:
    names = [i.name for i in instances(["gateway", "payment"], {"payment": 3})]
    assert names == ["gateway", "payment.1", "payment.2", "payment.3"]
    assert [i.name for i in instances(["payment"], {"payment": 1})] == ["payment"]


def test_scaling_an_unselected_service_is_an_error() -> None:
    with pytest.raises(ServiceError, match="payment is scaled but not selected"):
        instances(["gateway"], {"payment": 2})


def test_the_table_has_unique_names_and_only_workers_scale() -> None:
    names = [s.name for s in SERVICES]
    assert len(names) == len(set(names))
    assert {"gateway", "relay", "projector", "payment"} <= set(names)
    for service in SERVICES:
        if service.scalable:
            assert service.argv[1:] == ("-m", service.name, "worker", "-l", "info")
