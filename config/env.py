"""The one typed reader of environment variables, and the platform-wide settings.

Every settings object (``PlatformSettings`` here, ``streaming.settings.StreamingSettings``,
each worker's ``<service>/settings.py``) declares its fields with :func:`setting`::

    group: str = setting("PAYMENT_GROUP", string, "payment")
    \"\"\"The consumer group and Faust app id.\"\"\"

which reads the variable when the object is made, with one of the parsers below (a
blank value means the default, except for lists: an empty list is a value). A bad value
fails at start with an ``EnvError`` naming the variable. The field's docstring (the
string literal after it) is its meaning: ``python -m config.docs`` builds
``docs/configuration.md`` from the variable, default and docstring of every field.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent

T = TypeVar("T")

#: Parses the text of one variable (its name, for the error message, and its value).
Parser = Callable[[str, str], T]

#: Where variables are read from; tests may pass a plain dict.
Environ = Mapping[str, str]


class EnvError(ValueError):
    """An environment variable holds a value its setting cannot take."""

    def __init__(self, name: str, raw: str, expected: str) -> None:
        super().__init__(f"{name}={raw!r} is not {expected}")
        self.name = name


# -- parsers: (name, text) -> value; the text is never blank here (blank = default) ---------


def string(name: str, raw: str) -> str:
    """Any text, stripped."""
    return raw.strip()


def raw_string(name: str, raw: str) -> str:
    """Any text, as given (passwords: spaces may be part of them)."""
    return raw


def integer(name: str, raw: str) -> int:
    """A whole number."""
    try:
        return int(raw.strip())
    except ValueError:
        raise EnvError(name, raw, "a whole number") from None


def milliseconds(name: str, raw: str) -> int:
    """A whole number of milliseconds, 0 or more."""
    value = raw.strip()
    if not value.isdigit():
        raise EnvError(name, raw, "a whole number of milliseconds, 0 or more")
    return int(value)


def port(name: str, raw: str) -> int:
    """A TCP port number (0: any free port)."""
    value = raw.strip()
    if not value.isdigit() or int(value) > 65535:
        raise EnvError(name, raw, "a port number")
    return int(value)


def number(name: str, raw: str) -> float:
    """A finite number."""
    try:
        value = float(raw.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise EnvError(name, raw, "a number")
    return value


def non_negative(name: str, raw: str) -> float:
    """A finite number, at least 0."""
    try:
        value = float(raw.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise EnvError(name, raw, "a non-negative number")
    return value


def seconds(name: str, raw: str) -> float:
    """A finite number of seconds (fractions allowed)."""
    try:
        value = float(raw.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise EnvError(name, raw, "a number of seconds")
    return value


def duration(name: str, raw: str) -> timedelta:
    """A finite number of seconds, as a ``timedelta``."""
    return timedelta(seconds=seconds(name, raw))


def non_negative_duration(name: str, raw: str) -> timedelta:
    """A finite number of seconds, at least 0, as a ``timedelta``."""
    value = seconds(name, raw)
    if value < 0:
        raise EnvError(name, raw, "a number of seconds")
    return timedelta(seconds=value)


def whole_seconds(name: str, raw: str) -> int:
    """A whole number of seconds, at least 1."""
    try:
        value = int(raw.strip())
    except ValueError:
        raise EnvError(name, raw, "a whole number of seconds") from None
    if value < 1:
        raise ValueError(f"{name} must be at least 1 second, got {value}")
    return value


def decimal(name: str, raw: str) -> Decimal:
    """A decimal amount (``250.50``)."""
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise EnvError(name, raw, "a decimal amount") from None
    if not value.is_finite():
        raise EnvError(name, raw, "a decimal amount")
    return value


def flag(name: str, raw: str) -> bool:
    """A boolean: 1/true/yes/on or 0/false/no/off (any case)."""
    value = raw.strip().lower()
    if value in ("0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise EnvError(name, raw, "a boolean (true/false)")


def names(name: str, raw: str) -> frozenset[str]:
    """A comma-separated set of names; blanks between commas are ignored."""
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def seconds_list(name: str, raw: str) -> tuple[float, ...]:
    """Comma-separated numbers of seconds (``1,4,16``)."""
    try:
        return tuple(float(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise EnvError(name, raw, "a list of seconds like '1,4,16'") from None


def event_loop(name: str, raw: str) -> str:
    """The event loop implementation: ``uvloop`` or ``asyncio`` (any case)."""
    value = raw.strip().lower()
    if value in EVENT_LOOPS:
        return value
    raise EnvError(name, raw, "an event loop (uvloop or asyncio)")


#: The event loops a process can run on (``config.event_loop``).
EVENT_LOOPS = ("uvloop", "asyncio")


#: Parsers whose value may be empty: a blank variable is then a value, not the default.
_BLANK_IS_A_VALUE: tuple[Parser[Any], ...] = (names, raw_string)


def read(
    name: str, parse: Parser[T], default: T, environ: Environ | None = None, *, blank: bool = False
) -> T:
    """The value of ``name`` parsed by ``parse``; ``default`` when it is unset, or blank
    (unless ``blank``: then an empty value is parsed too)."""
    env = os.environ if environ is None else environ
    raw = env.get(name)
    if raw is None or (not blank and not raw.strip()):
        return default
    return parse(name, raw)


def setting(
    name: str, parse: Parser[T], default: T, *, shown: str | None = None, blank: bool | None = None
) -> T:
    """A dataclass field read from the variable ``name`` when the object is made.

    ``shown`` is the default as the configuration docs print it (``repr``-free text),
    when ``str(default)`` would not do. ``blank``: whether an empty value is a value
    (default: only for lists and raw strings).
    """
    keep_blank = parse in _BLANK_IS_A_VALUE if blank is None else blank
    if shown is None:
        shown = _show(default)
    result: Any = field(
        default_factory=lambda: read(name, parse, default, blank=keep_blank),
        metadata={"env": name, "default": shown},
    )
    return result  # type: ignore[no-any-return]


def _show(default: object) -> str:
    if default is None:
        return "(unset: off)"
    if isinstance(default, frozenset | set | tuple | list):
        return ",".join(str(x) for x in sorted(default, key=str)) if default else "(empty)"
    if isinstance(default, timedelta):
        return f"{default.total_seconds():g}"
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, float):
        return f"{default:g}"
    return str(default) if str(default) else "(empty)"


@dataclass(frozen=True)
class PlatformSettings:
    """Where the platform's infrastructure is: shared by the gateway and every worker."""

    kafka_bootstrap_servers: str = setting("KAFKA_BOOTSTRAP_SERVERS", string, "127.0.0.1:9092")
    """Comma-separated ``host:port`` list of the broker(s)."""

    database_url: str = setting(
        "DATABASE_URL",
        string,
        f"sqlite:///{ROOT / 'var' / 'db.sqlite3'}",
        shown="sqlite:///var/db.sqlite3",
    )
    """The gateway's database; SQLite in ``var/`` when unset."""

    redis_url: str = setting("REDIS_URL", string, "redis://127.0.0.1:6379/0")
    """Redis: the gateway's channel layer and caches, inventory's stock, the runtime fault
    settings every worker follows."""

    topic_partitions: int = setting("TOPIC_PARTITIONS", integer, 6)
    """Partitions per project topic (the same for every saga topic)."""

    topic_replication_factor: int = setting("TOPIC_REPLICATION_FACTOR", integer, 1)
    """Replicas per project topic and per worker changelog; with 3 or more, a write needs
    ``min.insync.replicas=2`` (one broker may be down). `sagactl run --brokers 3` sets 3."""

    event_loop: str = setting("EVENT_LOOP", event_loop, "uvloop")
    """The asyncio event loop of the workers (Faust), the gateway (daphne, ``python -m
    gateway``), the projector, the outbox relay and the dashboard monitor: ``uvloop``
    (5-15 % less CPU per event or request, see docs/performance.md) or ``asyncio`` (the
    standard library's selector loop, to rule uvloop out)."""

    observer_fetch_wait_ms: int = setting("OBSERVER_FETCH_WAIT_MS", milliseconds, 100)
    """Milliseconds the readers nobody waits on (the projector, notification, analytics,
    the auditor) let the broker gather records before a fetch answers: they wake a few
    times a second instead of once per event, for up to this much delay on the read model,
    notices, top products and audits. 0: answer as soon as a record is there, like the
    saga's own hops (``kafka_admin.fetch``; measured in docs/performance.md)."""

    @property
    def min_insync_replicas(self) -> int:
        """In-sync replicas a write needs: 2 when there are 3 or more replicas, else 1."""
        return max(1, min(2, self.topic_replication_factor - 1))

    @property
    def faust_broker(self) -> str:
        """The bootstrap servers in Faust's ``kafka://`` URL form."""
        return ";".join(f"kafka://{s.strip()}" for s in self.kafka_bootstrap_servers.split(","))

    @property
    def bootstrap_list(self) -> list[str]:
        """The bootstrap servers as a list, as aiokafka expects them."""
        return [s.strip() for s in self.kafka_bootstrap_servers.split(",") if s.strip()]


def load() -> PlatformSettings:
    """Read the settings from the current environment."""
    return PlatformSettings()
