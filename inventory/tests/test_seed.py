"""``python -m inventory seed``'s command line, without Redis or Kafka."""

from __future__ import annotations

import pytest

from inventory.seed import main, parser


def test_options() -> None:
    assert vars(parser().parse_args([])) == {"reset": False, "if_empty": False, "no_publish": False}
    args = parser().parse_args(["--if-empty", "--no-publish"])
    assert (args.if_empty, args.no_publish) == (True, True)


def test_reset_and_if_empty_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["--reset", "--if-empty"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_failure_is_one_line_on_stderr_and_exit_code_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INVENTORY_KEY_PREFIX", "elsewhere:")
    assert main(["--no-publish"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("inventory seed failed: ValueError: key prefix 'elsewhere:' must start")
