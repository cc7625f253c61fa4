"""Architecture rules, checked on the source tree with ``ast``: which package may import what.

- ``contracts`` and every ``domain.py`` stay pure: no Faust, Django, DRF, Channels or
  Kafka client, so they can be used and tested anywhere.
- Services talk only through Kafka: no service package imports another one. Shared
  packages (``contracts``, ``config``, ``streaming``) are allowed everywhere.
- Libraries below the services (``contracts``, ``streaming``) import no service.

Every import counts, wherever it is: inside functions, under ``if TYPE_CHECKING``, and
``importlib.import_module("...")`` / ``__import__("...")`` calls with a literal name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Deployable services: each talks to the others only through Kafka topics. (The
#: dashboard is a Django app of the gateway's project, reading its read model: part of
#: the gateway here; its own layer rules belong to the import contract.)
SERVICES = frozenset({"gateway", "payment", "inventory", "saga", "notification", "analytics"})
#: Libraries every service may import; they must not import services themselves.
LIBRARIES = frozenset({"contracts", "kafka_admin", "streaming"})
#: Frameworks and I/O clients that ``contracts`` and ``domain.py`` must not import.
FRAMEWORKS = frozenset(
    {
        "faust",
        "mode",  # Faust's service runtime
        "aiokafka",
        "django",
        "rest_framework",
        "drf_spectacular",
        "channels",
        "channels_redis",
        "daphne",
    }
)
#: Directories that hold no project source.
_SKIPPED = frozenset(
    {".venv", "venv", ".git", "node_modules", "build", "dist", "__pycache__", "var"}
)


def python_files(top: Path) -> list[Path]:
    """Every ``.py`` file under ``top``, skipping virtualenvs, caches and hidden folders."""
    return sorted(
        path
        for path in top.rglob("*.py")
        if not any(
            part in _SKIPPED or part.startswith(".") for part in path.relative_to(ROOT).parts[:-1]
        )
    )


def module_of(path: Path) -> str:
    """The dotted module name of a project file, e.g. ``payment.domain``."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_in(source: str, module: str, *, is_package: bool = False) -> Iterator[tuple[str, int]]:
    """Every module that ``source`` (the code of ``module``) imports, with its line number.

    Relative imports are resolved against ``module``; ``from a import b`` yields
    ``a`` and ``a.b`` (``b`` may be a submodule).
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, *([node.module] if node.module else [])])
            else:
                name = node.module or ""
            yield name, node.lineno
            for alias in node.names:
                if alias.name != "*":
                    yield f"{name}.{alias.name}", node.lineno
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (
                    isinstance(node.func, ast.Attribute)
                    and node.func.attr == "import_module"
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "importlib"
                )
            )
        ):
            yield node.args[0].value, node.lineno


def imported_packages(path: Path) -> Iterator[tuple[str, int]]:
    """The top-level package of every import in a project file, with its line number."""
    source = path.read_text(encoding="utf-8")
    is_package = path.name == "__init__.py"
    for name, line in imports_in(source, module_of(path), is_package=is_package):
        if name:
            yield name.split(".")[0], line


def violations(files: list[Path], forbidden: frozenset[str]) -> list[str]:
    """``path:line imports X`` for every import of a ``forbidden`` package in ``files``."""
    return sorted(
        {
            f"{path.relative_to(ROOT)}:{line} imports {top}"
            for path in files
            for top, line in imported_packages(path)
            if top in forbidden
        }
    )


CONTRACTS_FILES = python_files(ROOT / "contracts")
DOMAIN_FILES = [path for path in python_files(ROOT) if path.name == "domain.py"]


def test_contracts_and_domain_modules_import_no_framework() -> None:
    assert CONTRACTS_FILES, "no contracts source found: is ROOT right?"

    found = violations(CONTRACTS_FILES + DOMAIN_FILES, FRAMEWORKS)

    assert found == [], "pure modules import frameworks:\n" + "\n".join(found)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_services_do_not_import_each_other(service: str) -> None:
    found = violations(python_files(ROOT / service), SERVICES - {service})

    assert found == [], f"{service} imports other services:\n" + "\n".join(found)


@pytest.mark.parametrize("library", sorted(LIBRARIES))
def test_libraries_import_no_service(library: str) -> None:
    found = violations(python_files(ROOT / library), SERVICES)

    assert found == [], f"{library} imports services:\n" + "\n".join(found)


def test_every_kind_of_import_is_seen() -> None:
    source = '''
"""Docstring that mentions import faust, which is not an import."""
import os, aiokafka.producer
from django.db import models
from . import agent
from .domain import decide
from ..inventory import reserve
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from channels.layers import get_channel_layer
def later():
    import rest_framework
    importlib.import_module("faust")
    return __import__("gateway.orders")
'''
    seen = {name for name, _ in imports_in(source, "payment.tests.test_x")}

    assert {
        "os",
        "aiokafka.producer",
        "django.db",
        "payment.tests.agent",
        "payment.tests.domain",
        "payment.inventory",
        "channels.layers",
        "rest_framework",
        "faust",
        "gateway.orders",
    } <= seen
    assert not any(name.startswith("faust") for name in seen - {"faust"})


def test_relative_imports_resolve_against_the_package() -> None:
    init = {name for name, _ in imports_in("from . import domain", "payment", is_package=True)}
    module = {name for name, _ in imports_in("from . import domain", "payment.agent")}

    assert init == module == {"payment", "payment.domain"}
