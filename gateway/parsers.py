"""The one JSON parser of every API endpoint (``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``).

Strict and bounded: the body must be UTF-8 JSON (RFC 8259: no ``NaN``/``Infinity``, no
trailing data), a number must fit a double (``1e999`` is refused; integers stay exact
and each field bounds them), and arrays and objects nest at most ``MAX_DEPTH`` levels.
Any failure, however deep (a 2 KB body of 1,000 nested arrays made the standard parser
raise ``RecursionError``, a 500), is a ``ParseError``: a 400 whose detail names the
problem.

Decoding is msgspec's (a C decoder; no recursion in Python), and the depth check walks
the decoded value with an explicit stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

import msgspec
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

#: Deepest nesting of arrays and objects accepted in a body (the order body needs 3).
MAX_DEPTH = 32

_decoder = msgspec.json.Decoder()


def decode(raw: bytes) -> Any:
    """The JSON value of ``raw``; ``ParseError`` saying why it is not acceptable JSON."""
    try:
        value = _decoder.decode(raw)
    except RecursionError:
        raise ParseError(f"JSON nested more than {MAX_DEPTH} levels deep.") from None
    except UnicodeDecodeError as exc:
        raise ParseError(f"The body is not valid UTF-8 (byte {exc.start}).") from None
    except msgspec.ValidationError as exc:  # e.g. 1e999: "Number out of range"
        raise ParseError(f"Unsupported JSON value: {exc}.") from None
    except (msgspec.DecodeError, ValueError) as exc:
        raise ParseError(str(exc)) from None
    if depth_exceeds(value, MAX_DEPTH):
        raise ParseError(f"JSON nested more than {MAX_DEPTH} levels deep.")
    return value


def depth_exceeds(value: Any, limit: int) -> bool:
    """Whether arrays/objects in ``value`` nest deeper than ``limit`` (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class JSONParser(BaseParser):
    """``application/json`` bodies, decoded strictly (see the module docstring)."""

    media_type = "application/json"

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        raw = stream.read() if stream is not None else b""
        return decode(raw)
