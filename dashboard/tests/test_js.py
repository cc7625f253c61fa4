"""The browser's pure rules under Node's test runner: the feed (stream.js), the first
screen (first.js), its charts (series.js) and the auditor's panel (audit.js)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness import packages

HERE = Path(__file__).parent


@pytest.mark.parametrize(
    "name", ["stream.test.js", "first.test.js", "series.test.js", "audit.test.js"]
)
def test_rules(name: str) -> None:
    node = packages.require("node")  # installed by scripts/bootstrap; never skipped
    result = subprocess.run(
        [node, "--test", str(HERE / "js" / name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
