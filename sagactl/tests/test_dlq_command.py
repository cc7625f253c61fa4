"""`sagactl dlq` forwards its action and options to `manage.py dlq`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sagactl.cli import build_parser
from sagactl.commands.dlq import ROOT, command


def test_the_action_and_its_options_are_forwarded() -> None:
    args = build_parser().parse_args(["dlq", "redrive", "--topic", "orders.v1", "--all"])
    assert command(args) == [
        sys.executable,
        str(ROOT / "manage.py"),
        "dlq",
        "redrive",
        "--topic",
        "orders.v1",
        "--all",
    ]


def test_unknown_actions_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["dlq", "purge"])
    assert "invalid choice" in capsys.readouterr().err


def test_help_of_an_action_comes_from_the_management_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sagactl", "dlq", "list", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "--error-type" in done.stdout and "--since" in done.stdout
