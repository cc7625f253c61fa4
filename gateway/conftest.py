"""Every gateway test starts with empty throttle counters and no cached broker reading
(Django's cache is per process, so they would otherwise carry over between tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from gateway import health
from gateway.operations import metrics


@pytest.fixture(autouse=True)
def _fresh_rates_and_readings() -> Iterator[None]:
    cache.clear()
    metrics.BROKER_READING.clear()
    health.KAFKA_PROBE.clear()
    yield
