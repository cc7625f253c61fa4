"""Fast-tier fixtures of the dashboard: an in-memory channel layer, a counter in memory."""

from __future__ import annotations

import pytest

from dashboard.consumers import DashboardConsumer
from gateway.projector.versions import MemoryVersions


@pytest.fixture(autouse=True)
def memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def versions(monkeypatch) -> MemoryVersions:
    counter = MemoryVersions()
    monkeypatch.setattr(DashboardConsumer, "versions_factory", staticmethod(lambda: counter))
    return counter
