"""The generated JSON Schemas: up to date, deterministic, and strict enough to mean something."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

from contracts import EVENT_TYPES, Event, OrderPlaced
from contracts.schemas import (
    DIALECT,
    ID_PREFIX,
    SCHEMA_DIR,
    main,
    render,
    schema_of,
    stale_files,
    write_schemas,
)
from contracts.tests.jsonschema_lite import SchemaViolation, validate
from contracts.tests.support import CONTRACTS_DIR, EVENT_CLASSES, EVENT_IDS, example_json


def test_committed_schemas_are_up_to_date() -> None:
    stale = stale_files()

    assert stale == [], f"stale schema files {stale}: run `python -m contracts.schemas`"


def test_check_lists_missing_changed_and_orphan_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_schemas(tmp_path)
    (tmp_path / "order.placed.v1.json").unlink()
    changed = tmp_path / "payment.declined.v1.json"
    changed.write_text(changed.read_text(encoding="utf-8").replace("  ", "\t"), encoding="utf-8")
    (tmp_path / "order.shipped.v1.json").write_text("{}\n", encoding="utf-8")

    assert main(["--check", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    for name in ("order.placed.v1.json", "payment.declined.v1.json", "order.shipped.v1.json"):
        assert name in err
    assert "payment.authorized.v1.json" not in err

    assert main(["--dir", str(tmp_path)]) == 0
    assert main(["--check", "--dir", str(tmp_path)]) == 0
    assert not (tmp_path / "order.shipped.v1.json").exists()


def test_writing_leaves_up_to_date_files_alone(tmp_path: Path) -> None:
    assert len(write_schemas(tmp_path)) == len(EVENT_TYPES)

    assert write_schemas(tmp_path) == []


def test_module_runs_as_a_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "contracts.schemas", "--check"],
        cwd=CONTRACTS_DIR.parent,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=EVENT_IDS)
def test_rendering_is_deterministic(cls: type[Event]) -> None:
    text = render(cls)

    assert text == render(cls)
    assert text.endswith("}\n")
    assert json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n" == text
    assert (SCHEMA_DIR / f"{cls.wire_type()}.json").read_text(encoding="utf-8") == text


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=EVENT_IDS)
def test_schema_names_its_wire_type_and_documents_the_class(cls: type[Event]) -> None:
    schema = schema_of(cls)
    doc = inspect.cleandoc(cls.__doc__ or "")

    assert schema["$schema"] == DIALECT
    assert schema["$id"] == ID_PREFIX + cls.wire_type()
    assert schema["title"] == doc.splitlines()[0]
    assert schema["description"] == doc
    assert schema["$ref"] == f"#/$defs/{cls.__name__}"
    definition = schema["$defs"][cls.__name__]
    assert definition["properties"]["type"] == {"enum": [cls.wire_type()]}
    assert "type" in definition["required"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("order_id"), "order_id"),
        (lambda d: d.update(type="order.shipped.v1"), "type"),
        (lambda d: d.update(currency="usd"), "currency"),
        (lambda d: d.update(currency="USD\n"), "currency"),
        (lambda d: d.update(amount="-1.00"), "amount"),
        (lambda d: d.update(amount=99.99), "amount"),
        (lambda d: d.update(items=[]), "items"),
        (lambda d: d["items"][0].update(quantity=0), "quantity"),
        (lambda d: d.update(user_id="x" * 65), "user_id"),
        (lambda d: d.update(event_id="not-a-uuid"), "event_id"),
        (lambda d: d.update(occurred_at="yesterday"), "occurred_at"),
    ],
)
def test_schema_rejects_what_the_contract_rejects(change: object, field: str) -> None:
    data = example_json(OrderPlaced)
    change(data)  # type: ignore[operator]

    with pytest.raises(SchemaViolation, match=field):
        validate(data, schema_of(OrderPlaced))
