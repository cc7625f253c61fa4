"""mode formats a service's log message before asking whether its level is on.

``mode.utils.logging.CompositeLogger.log`` (mode-streaming 0.7.1), which every Faust
service's ``self.log.debug/info/dev`` goes through, calls ``self.format(...)`` (the
service's formatter: ``"[^Consumer]: " + message`` and friends) and only then
``Logger.log``, which drops the record when the level is off. Faust logs at DEBUG on
its per-message paths, so a worker at INFO formats and discards a string per message
(~7 µs per event, measured in-process). ``install`` makes ``CompositeLogger.log``
return at once when its logger is not enabled for the severity; when it is, nothing
changes. Upstream fix: the same ``isEnabledFor`` check at the top of
``CompositeLogger.log``.

It checks that mode-streaming is the version this was written for and fails at start
otherwise (see ``streaming.upstream``).
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

from mode.utils.logging import CompositeLogger

from streaming.upstream.commit_watchdog import UpstreamChanged

#: The mode-streaming release this was written for and checked against.
MODE_VERSION = "0.7.1"


def check_upstream(version: str | None = None) -> None:
    found = importlib.metadata.version("mode-streaming") if version is None else version
    if found != MODE_VERSION:
        raise UpstreamChanged(
            f"streaming.upstream.lazy_log_format patches mode-streaming {MODE_VERSION}'s "
            f"CompositeLogger.log, but {found} is installed: check whether it still formats "
            "before the level check (then update MODE_VERSION) or remove the patch"
        )


def install() -> None:
    """Patch ``CompositeLogger.log`` (once per process)."""
    check_upstream()
    original = CompositeLogger.log
    if getattr(original, "_level_checked", False):
        return

    def log(self: CompositeLogger, severity: int, message: str, *args: Any, **kwargs: Any) -> None:
        if self.logger.isEnabledFor(severity):
            original(self, severity, message, *args, **kwargs)

    log._level_checked = True  # type: ignore[attr-defined]
    CompositeLogger.log = log  # type: ignore[method-assign]
