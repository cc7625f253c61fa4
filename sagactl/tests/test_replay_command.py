"""`sagactl replay` options: targets, times, and what it refuses before touching Kafka."""

from __future__ import annotations

import pytest

from kafka_admin.offsets import Target
from sagactl.cli import build_parser
from sagactl.commands.replay import parse_time_ms, run, target_of


def args(*argv: str):
    return build_parser().parse_args(["replay", *argv])


@pytest.mark.parametrize(
    ("argv", "target"),
    [
        ((), Target("earliest")),
        (("--to-latest",), Target("latest")),
        (("--to-offset", "7"), Target("offset", 7)),
        (("--shift-by", "-3"), Target("shift", -3)),
        (("--to-datetime", "2026-12-01T23:00:00Z"), Target("timestamp", 1796166000000)),
    ],
)
def test_targets_from_options(argv: tuple[str, ...], target: Target) -> None:
    assert target_of(args("-g", "payment", *argv)) == target


def test_times() -> None:
    assert parse_time_ms("2026-12-01T23:00:00") == parse_time_ms("2026-12-01T23:00:00+00:00")
    assert parse_time_ms("1796166000000") == 1796166000000
    with pytest.raises(ValueError, match="not an ISO 8601 time"):
        parse_time_ms("yesterday")


def test_one_target_only() -> None:
    with pytest.raises(SystemExit):
        args("-g", "x", "--to-latest", "--to-earliest")


def test_refusals_before_any_broker_call(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(args()) == 2
    assert "name the consumer group" in capsys.readouterr().err
    assert run(args("-g", "payment", "--rebuild-read-model")) == 2
    assert "rewinds the projector group" in capsys.readouterr().err
