"""The committed configuration table is the one the settings objects generate."""

from __future__ import annotations

import pytest

from config import docs
from config.env import ROOT

DOC = ROOT / "docs" / "configuration.md"


def test_the_committed_table_matches_the_settings() -> None:
    assert DOC.read_text() == docs.render(), (
        "docs/configuration.md is out of date: run "
        "`.venv/bin/python -m config.docs > docs/configuration.md`"
    )


@pytest.mark.parametrize("path", [path for _, path, _ in docs.SETTINGS])
def test_every_setting_has_a_variable_and_a_docstring(path: str) -> None:
    assert docs.undocumented(docs.load_class(path)) == []
