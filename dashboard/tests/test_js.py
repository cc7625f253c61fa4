"""The browser's pure feed rules (dashboard/static/dashboard/stream.js) under Node's test
runner."""

from __future__ import annotations

import subprocess
from pathlib import Path

from harness import packages

HERE = Path(__file__).parent


def test_stream_rules() -> None:
    node = packages.require("node")  # installed by scripts/bootstrap; never skipped
    result = subprocess.run(
        [node, "--test", str(HERE / "js" / "stream.test.js")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
