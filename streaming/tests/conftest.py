"""Every async test here runs twice: on asyncio's own event loop and on uvloop, the loop
the workers run on by default (``EVENT_LOOP``, ``config.event_loop``). The code in
``streaming.upstream`` cancels and uncancels tasks and hands work between threads, which
must hold on both."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
import uvloop

LOOPS: Mapping[str, Any] = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Mapping[str, Any]:
    return LOOPS
