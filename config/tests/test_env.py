"""The typed environment reader: defaults, parsing, and errors naming the variable."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from config import env


def test_blank_means_the_default_except_for_lists() -> None:
    assert env.read("X", env.integer, 7, {}) == 7
    assert env.read("X", env.integer, 7, {"X": "  "}) == 7
    assert env.read("X", env.integer, 7, {"X": " 9 "}) == 9
    assert env.read("X", env.names, frozenset({"a"}), {"X": ""}, blank=True) == frozenset()


@pytest.mark.parametrize(
    ("parse", "raw", "value"),
    [
        (env.number, "0.25", 0.25),
        (env.decimal, "250.50", Decimal("250.50")),
        (env.duration, "1.5", timedelta(seconds=1.5)),
        (env.flag, "Yes", True),
        (env.flag, "off", False),
        (env.names, " a, b ,,", frozenset({"a", "b"})),
        (env.seconds_list, "1, 4", (1.0, 4.0)),
        (env.port, "0", 0),
        (env.milliseconds, " 100 ", 100),
        (env.milliseconds, "0", 0),
        (env.event_loop, " AsyncIO ", "asyncio"),
        (env.event_loop, "uvloop", "uvloop"),
    ],
)
def test_parsers(parse: env.Parser[object], raw: str, value: object) -> None:
    assert env.read("X", parse, None, {"X": raw}) == value


@pytest.mark.parametrize(
    "parse",
    [
        env.integer,
        env.number,
        env.decimal,
        env.duration,
        env.flag,
        env.seconds_list,
        env.port,
        env.milliseconds,
        env.event_loop,
    ],
)
def test_a_bad_value_names_its_variable(parse: env.Parser[object]) -> None:
    with pytest.raises(env.EnvError, match="SOME_VARIABLE='nan-sense'"):
        env.read("SOME_VARIABLE", parse, None, {"SOME_VARIABLE": "nan-sense"})


def test_milliseconds_refuse_a_negative_wait() -> None:
    with pytest.raises(env.EnvError, match="OBSERVER_FETCH_WAIT_MS='-5'"):
        env.read("OBSERVER_FETCH_WAIT_MS", env.milliseconds, 0, {"OBSERVER_FETCH_WAIT_MS": "-5"})
