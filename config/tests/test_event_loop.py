"""``config.event_loop``: the loop ``EVENT_LOOP`` names is the loop a process runs on."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from config import event_loop
from config.env import PlatformSettings


async def kind() -> str:
    return event_loop.current()


def test_uvloop_is_the_default() -> None:
    assert PlatformSettings().event_loop == "uvloop"


@pytest.mark.parametrize("name", ["uvloop", "asyncio"])
def test_run_runs_on_the_loop_named(name: str) -> None:
    assert event_loop.run(kind(), name) == name


@pytest.fixture
def restored_policy() -> Iterator[None]:
    policy = asyncio.get_event_loop_policy()
    try:
        yield
    finally:
        asyncio.set_event_loop_policy(policy)


@pytest.mark.parametrize("name", ["uvloop", "asyncio"])
@pytest.mark.usefixtures("restored_policy")
def test_install_makes_every_new_loop_of_the_kind_named(name: str) -> None:
    event_loop.install(name)
    loop = asyncio.new_event_loop()  # as Faust's worker and its consumer thread make theirs
    try:
        assert loop.run_until_complete(kind()) == name
    finally:
        loop.close()
