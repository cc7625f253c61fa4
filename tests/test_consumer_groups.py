"""The platform's consumer groups, as ``contracts.admission`` knows them (a redrive is
only honoured when it names one), are the groups its processes really join."""

from __future__ import annotations

from contracts.admission import CONSUMER_GROUPS
from harness.services import SERVICES


def test_the_admission_rule_knows_every_consumer_group_of_the_platform() -> None:
    assert {s.group for s in SERVICES if s.group is not None} == CONSUMER_GROUPS
