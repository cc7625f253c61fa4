"""What `sagactl run` echoes to the terminal: readiness, warnings and errors, unless verbose.

Every output line of every process still goes to its log file and through readiness
matching (`harness.process.ChildProcess`); this decides only which of them the
supervisor also writes to the terminal. A line's level is the one it states (Faust's
``[time] [pid] [WARNING] ...``, the gateway's ``time WARNING logger: ...``, a Python
warning, a traceback) or, for a line that starts no record of its own (a traceback's
frames, the rows of a table Faust logs, a warning's second line), the level of the record
it continues. Quiet shows `NOTICE` and above: warnings, errors, and the supervisor's own
ready/restart lines; verbose shows everything.
"""

from __future__ import annotations

import re
from enum import IntEnum


class Level(IntEnum):
    """The logging module's levels, plus NOTICE: the supervisor's own lines that a quiet
    terminal keeps (a process is ready, a one-shot finished, a crash is restarted)."""

    DEBUG = 10
    INFO = 20
    NOTICE = 25
    WARNING = 30
    ERROR = 40
    CRITICAL = 50


#: The lowest level a quiet terminal shows.
QUIET = Level.NOTICE

_NAMES = {
    "DEBUG": Level.DEBUG,
    "INFO": Level.INFO,
    "WARN": Level.WARNING,
    "WARNING": Level.WARNING,
    "ERROR": Level.ERROR,
    "CRITICAL": Level.CRITICAL,
    "FATAL": Level.CRITICAL,
}
_TIME = r"\[?\d{4}-\d\d-\d\d[ T][\d:.,]+\]?"
#: A log record: an optional timestamp, an optional ``[pid]``, then the level, e.g.
#: ``[2026-01-01 10:00:00,000] [42] [WARNING] ...`` (Faust),
#: ``2026-01-01 10:00:00,000 ERROR gateway.relay: ...`` (the gateway's LOGGING) or
#: ``WARNING:root:...`` (logging's default format).
_RECORD = re.compile(
    rf"^(?:{_TIME}\s+)?(?:\[\d+\]\s+)?\[?(?P<level>{'|'.join(_NAMES)})\]?(?:[\s:]|$)"
)
#: Any other line that begins with a timestamp starts a record too (level unknown: INFO).
_STAMPED = re.compile(rf"^{_TIME}\s")
#: ``/path/module.py:94: SomeWarning: message`` (the warnings module).
_PY_WARNING = re.compile(r"^\S.*?:\d+: \w*Warning: ")
_ERRORS = re.compile(
    r"^(?:Traceback \(most recent call last\):|Exception in thread |Fatal Python error: )"
)
#: Daphne's access log (``127.0.0.1:41248 - - [03/Dec/2026:10:14:48] "GET /health" 200 16``)
#: and Faust's startup banner (``+ƒaµS† v0.15.3+----``): INFO records of their own.
_CHATTER = re.compile(r'^(?:\S+ - \S+ \[[^\]]+\] "|\+ƒaµS† )')


def stated_level(line: str) -> Level | None:
    """The level ``line`` starts a record at, or None when it continues the record
    before it (an indented frame, a table row, the second line of a message)."""
    record = _RECORD.match(line)
    if record:
        return _NAMES[record.group("level")]
    if _ERRORS.match(line):
        return Level.ERROR
    if _PY_WARNING.match(line):
        return Level.WARNING
    if _STAMPED.match(line) or _CHATTER.match(line):
        return Level.INFO
    return None


def echo(line: str, previous: Level, verbose: bool) -> tuple[bool, Level]:
    """Whether the terminal shows ``line``, and its level (for the line after it).

    ``previous`` is the level of the line before it from the same process (`Level.INFO`
    for a process's first line): a line that starts no record of its own continues that
    record, so a traceback or a multi-line warning shows whole, and the rows of an INFO
    table stay hidden with it.
    """
    level = stated_level(line)
    if level is None:
        level = previous
    return verbose or level >= QUIET, level


class LineFilter:
    """`echo` over one process's output, remembering the level of its last record."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.level = Level.INFO

    def __call__(self, line: str) -> bool:
        shown, self.level = echo(line, self.level, self.verbose)
        return shown
