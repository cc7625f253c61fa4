"""Shared helpers of the contract tests: the committed examples and their structs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

import contracts
from contracts import EVENT_TYPES, Event

CONTRACTS_DIR = Path(contracts.__file__).resolve().parent
EXAMPLE_DIR = CONTRACTS_DIR / "examples"
SCHEMA_DIR = CONTRACTS_DIR / "schemas"

#: Every event class, with its wire type as the pytest id.
EVENT_CLASSES = list(EVENT_TYPES)
EVENT_IDS = [cls.wire_type() for cls in EVENT_TYPES]


def example_bytes(cls: type[Event]) -> bytes:
    """The committed example message of ``cls``, exactly as stored."""
    return (EXAMPLE_DIR / f"{cls.wire_type()}.json").read_bytes()


def example_json(cls: type[Event]) -> dict[str, Any]:
    """The committed example of ``cls`` as a JSON object, ready to be mutated."""
    data: dict[str, Any] = json.loads(example_bytes(cls))
    return data


def example(cls: type[Event]) -> Event:
    """The committed example of ``cls``, decoded."""
    return contracts.decode(example_bytes(cls))


def dumps(data: Any) -> bytes:
    """Compact JSON bytes, as a producer would send."""
    return json.dumps(data, separators=(",", ":")).encode()


def structs_in(value: Any) -> Iterator[msgspec.Struct]:
    """Every struct in ``value``, itself included, depth first."""
    if isinstance(value, msgspec.Struct):
        yield value
        for name in value.__struct_fields__:
            yield from structs_in(getattr(value, name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from structs_in(item)
