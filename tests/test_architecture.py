"""The layer contract (``[tool.importlinter]`` in ``pyproject.toml``) holds, and it can fail.

``lint-imports`` checks the contract; ``make check`` runs it too. The second test adds one
forbidden import to the real import graph and expects a broken contract, so the contract
cannot silently become a no-op (a renamed package, a layer that matches nothing).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from importlinter.application import use_cases
from importlinter.application.app_config import settings
from importlinter.configuration import configure

ROOT = Path(__file__).resolve().parents[1]
CONFIG = str(ROOT / "pyproject.toml")


class _WithExtraImport:
    """A graph builder that adds ``importer -> imported`` to the project's real graph."""

    def __init__(self, real: Any, importer: str, imported: str) -> None:
        self.real, self.importer, self.imported = real, importer, imported

    def build(self, **kwargs: Any) -> Any:
        graph = self.real.build(**kwargs)
        graph.add_import(importer=self.importer, imported=self.imported)
        return graph


@pytest.fixture
def linter(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(ROOT)
    configure()
    yield
    configure()


def kept(contract: str | None = None, extra: tuple[str, str] | None = None) -> bool:
    """Whether the project (plus the import ``extra``, if given) keeps ``contract`` (or
    every contract); ``lint-imports``' report on the failures goes to the captured output."""
    if extra is not None:
        settings.configure(GRAPH_BUILDER=_WithExtraImport(settings.GRAPH_BUILDER, *extra))
    limit = (contract,) if contract else ()
    return use_cases.lint_imports(
        config_filename=CONFIG, limit_to_contracts=limit, cache_dir=None, no_logo=True
    )


def test_the_project_keeps_its_import_contract(linter: None) -> None:
    assert kept()


@pytest.mark.parametrize(
    ("importer", "imported", "contract"),
    [
        ("streaming.guard", "sagactl.cli", "layers"),
        ("gateway.orders.services", "dashboard.consumers", "layers"),
        ("payment.agent", "inventory.domain", "layers"),
        ("contracts.events", "django.db", "pure"),
        ("saga.domain", "faust", "pure"),
        ("gateway.orders.models", "gateway.projector.projector", "gateway-apps"),
    ],
)
def test_a_forbidden_import_breaks_the_contract(
    linter: None, importer: str, imported: str, contract: str
) -> None:
    assert kept(contract)
    assert not kept(contract, extra=(importer, imported))
