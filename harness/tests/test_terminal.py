"""What a quiet `sagactl run` terminal echoes: `harness.terminal` on real output lines."""

from __future__ import annotations

import pytest

from harness.terminal import Level, LineFilter, echo, stated_level

FAUST_INFO = "[2026-12-03 10:14:49,040] [9421] [INFO] [^Worker]: Ready "
FAUST_WARNING = "[2026-12-03 10:14:49,040] [9421] [WARNING] [^---Fetcher]: slow "
FAUST_ERROR = "[2026-12-03 10:14:49,040] [9421] [ERROR] [^Worker]: Error: KeyError('x')"
GATEWAY_INFO = "2026-12-03 10:14:48,475 INFO daphne.cli: Starting server at tcp:port=36881"
GATEWAY_WARNING = "2026-12-03 10:14:48,475 WARNING gateway.relay: relay: Kafka is down"
GATEWAY_CRITICAL = "2026-12-03 10:14:48,475 CRITICAL gateway: disk full"
ACCESS = '127.0.0.1:41248 - - [03/Dec/2026:10:14:48] "GET /health" 200 16'
BANNER = "+ƒaµS† v0.15.3+------------------------------------------+"
PY_WARNING = (
    "/x/faust/cli/worker.py:94: AlreadyConfiguredWarning: Setting new value for configuration"
)


@pytest.mark.parametrize(
    ("line", "level"),
    [
        (FAUST_INFO, Level.INFO),
        (FAUST_WARNING, Level.WARNING),
        (FAUST_ERROR, Level.ERROR),
        (GATEWAY_INFO, Level.INFO),
        (GATEWAY_WARNING, Level.WARNING),
        (GATEWAY_CRITICAL, Level.CRITICAL),
        ("WARNING:root:no handler configured", Level.WARNING),
        ("ERROR: could not connect", Level.ERROR),
        ("Traceback (most recent call last):", Level.ERROR),
        ("Exception in thread Thread-1:", Level.ERROR),
        ("Fatal Python error: Segmentation fault", Level.ERROR),
        (PY_WARNING, Level.WARNING),
        (ACCESS, Level.INFO),
        (BANNER, Level.INFO),
        ("2026-12-03 10:14:48,475 something without a level", Level.INFO),
        # Lines that start no record: they continue the one before.
        ('  File "/x/payment/agent.py", line 3, in authorize', None),
        ("ValueError: boom", None),
        ("| orders.v1           | {0-5}      |", None),
        ("", None),
        ("relay: publishing outbox to 127.0.0.1:9092", None),
        ("ERRORS: none", None),  # a word that only begins like a level
    ],
)
def test_stated_level(line: str, level: Level | None) -> None:
    assert stated_level(line) == level


@pytest.mark.parametrize(
    ("line", "previous", "verbose", "shown", "level"),
    [
        # Quiet: INFO and below hidden, warnings and errors shown.
        (FAUST_INFO, Level.INFO, False, False, Level.INFO),
        (ACCESS, Level.INFO, False, False, Level.INFO),
        (BANNER, Level.INFO, False, False, Level.INFO),
        (GATEWAY_INFO, Level.ERROR, False, False, Level.INFO),  # a new record resets
        (FAUST_WARNING, Level.INFO, False, True, Level.WARNING),
        (FAUST_ERROR, Level.INFO, False, True, Level.ERROR),
        (GATEWAY_CRITICAL, Level.INFO, False, True, Level.CRITICAL),
        # A continuation line takes the level of its record.
        ("| orders.v1 | {0-5} |", Level.INFO, False, False, Level.INFO),
        ("  File 'x.py', line 1", Level.ERROR, False, True, Level.ERROR),
        ("Reconfiguring late may mean parts", Level.WARNING, False, True, Level.WARNING),
        # Verbose: everything, levels tracked the same way.
        (ACCESS, Level.INFO, True, True, Level.INFO),
        (BANNER, Level.INFO, True, True, Level.INFO),
        ("| orders.v1 | {0-5} |", Level.INFO, True, True, Level.INFO),
        (FAUST_ERROR, Level.INFO, True, True, Level.ERROR),
    ],
)
def test_echo(line: str, previous: Level, verbose: bool, shown: bool, level: Level) -> None:
    assert echo(line, previous, verbose) == (shown, level)


def test_a_traceback_shows_whole_and_the_chatter_after_it_does_not() -> None:
    output = [
        "[2026-12-03 10:14:48,999] [1] [INFO] Setting newly assigned partitions ",
        "+Topic Partition Set--+------------+",
        "| orders.v1           | {0-5}      |",
        "[2026-12-03 10:14:49,000] [1] [ERROR] [^----Agent*: payment.agent]: Crashed",
        "Traceback (most recent call last):",
        '  File "/x/payment/agent.py", line 3, in authorize',
        "    raise ValueError('boom')",
        "ValueError: boom",
        "",
        "The above exception was the direct cause of the following exception:",
        "RuntimeError: agent crashed",
        ACCESS,
        "[2026-12-03 10:14:50,000] [1] [INFO] [^Worker]: Ready ",
    ]
    quiet = LineFilter(verbose=False)
    assert [line for line in output if quiet(line)] == output[3:11]
    verbose = LineFilter(verbose=True)
    assert [line for line in output if verbose(line)] == output


def test_a_python_warning_shows_with_its_following_lines_until_the_next_record() -> None:
    output = [
        PY_WARNING,
        "",
        "Reconfiguring late may mean parts of your program are still",
        "  self.app.conf.web_enabled = with_web",
        BANNER,
        "| id          | payment                                  |",
        FAUST_INFO,
    ]
    quiet = LineFilter(verbose=False)
    assert [line for line in output if quiet(line)] == output[:4]
