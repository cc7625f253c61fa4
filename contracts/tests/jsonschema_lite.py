"""A tiny JSON Schema (draft 2020-12) checker for the keywords msgspec generates.

The project takes no dependency for this. Any keyword it does not know raises
``NotImplementedError``, so a new msgspec feature cannot make a check pass silently.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

#: Keywords that only annotate or hold definitions: nothing to check.
_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "$defs", "title", "description", "default", "examples"}
)
_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _is_datetime(value: str) -> bool:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    return "T" in value.upper() and parsed.tzinfo is not None


def _is_decimal(value: str) -> bool:
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return True


_FORMATS = {"uuid": _is_uuid, "date-time": _is_datetime, "decimal": _is_decimal}


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


class SchemaViolation(AssertionError):
    """An instance does not match its schema; the message lists every violation."""


def errors(instance: Any, schema: Any, *, root: Any = None, path: str = "$") -> list[str]:
    """Every way ``instance`` violates ``schema``, as ``"<path>: <reason>"`` strings."""
    root = schema if root is None else root
    if schema is True:
        return []
    if schema is False:
        return [f"{path}: no value is allowed here"]
    found: list[str] = []

    def sub(value: Any, subschema: Any, where: str) -> list[str]:
        return errors(value, subschema, root=root, path=where)

    for keyword, arg in schema.items():
        if keyword in _ANNOTATIONS:
            continue
        if keyword == "$ref":
            if not arg.startswith("#/"):
                raise NotImplementedError(f"only local $ref is supported, got {arg}")
            target = root
            for part in arg[2:].split("/"):
                target = target[part]
            found += sub(instance, target, path)
        elif keyword == "type":
            names = arg if isinstance(arg, list) else [arg]
            if not any(_TYPES[name](instance) for name in names):
                found.append(f"{path}: expected {arg}, got {type(instance).__name__}")
        elif keyword == "enum":
            if instance not in arg:
                found.append(f"{path}: {instance!r} is not one of {arg}")
        elif keyword == "const":
            if instance != arg:
                found.append(f"{path}: expected {arg!r}")
        elif keyword == "anyOf":
            if all(sub(instance, option, path) for option in arg):
                found.append(f"{path}: matches none of anyOf")
        elif keyword == "properties":
            if isinstance(instance, dict):
                for name, subschema in arg.items():
                    if name in instance:
                        found += sub(instance[name], subschema, f"{path}.{name}")
        elif keyword == "required":
            if isinstance(instance, dict):
                found += [f"{path}: missing {name!r}" for name in arg if name not in instance]
        elif keyword == "additionalProperties":
            if isinstance(instance, dict):
                known = schema.get("properties", {})
                for name, value in instance.items():
                    if name not in known:
                        found += sub(value, arg, f"{path}.{name}")
        elif keyword == "prefixItems":
            if isinstance(instance, list):
                for i, (value, subschema) in enumerate(zip(instance, arg, strict=False)):
                    found += sub(value, subschema, f"{path}[{i}]")
        elif keyword == "items":
            if isinstance(instance, list):
                start = len(schema.get("prefixItems", []))
                for i, value in enumerate(instance[start:], start):
                    found += sub(value, arg, f"{path}[{i}]")
        elif keyword in ("minItems", "maxItems", "minLength", "maxLength"):
            if isinstance(instance, list if keyword.endswith("Items") else str):
                too_short = keyword.startswith("min") and len(instance) < arg
                too_long = keyword.startswith("max") and len(instance) > arg
                if too_short or too_long:
                    found.append(f"{path}: length {len(instance)} violates {keyword}={arg}")
        elif keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if _TYPES["number"](instance):
                ok = {
                    "minimum": instance >= arg,
                    "maximum": instance <= arg,
                    "exclusiveMinimum": instance > arg,
                    "exclusiveMaximum": instance < arg,
                }[keyword]
                if not ok:
                    found.append(f"{path}: {instance} violates {keyword}={arg}")
        elif keyword == "pattern":
            # ECMA-262 and Python agree on the patterns the contracts use.
            if isinstance(instance, str) and not re.search(arg, instance):
                found.append(f"{path}: {instance!r} does not match {arg!r}")
        elif keyword == "format":
            if isinstance(instance, str) and arg in _FORMATS and not _FORMATS[arg](instance):
                found.append(f"{path}: {instance!r} is not a valid {arg}")
        elif keyword == "contentEncoding":
            if arg != "base64":
                raise NotImplementedError(f"contentEncoding {arg}")
            if isinstance(instance, str) and not _is_base64(instance):
                found.append(f"{path}: not valid base64")
        else:
            raise NotImplementedError(f"JSON Schema keyword {keyword!r} at {path}")
    return found


def validate(instance: Any, schema: dict[str, Any]) -> None:
    """Raise ``SchemaViolation`` listing every violation, or return ``None``."""
    found = errors(instance, schema)
    if found:
        raise SchemaViolation("\n".join(found))
