"""The browser's pure feed rules (dashboard/static/dashboard/stream.js) under Node's test
runner."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_stream_rules() -> None:
    result = subprocess.run(
        ["node", "--test", str(HERE / "js" / "stream.test.js")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
