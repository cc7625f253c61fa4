"""What every local server shares: one child process and a data folder."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import TracebackType
from typing import Self

from harness.process import ChildProcess


class LocalServer:
    """A server process with its data in ``self.dir``; subclasses define ``start()``.

    ``stop()`` keeps the data (a later ``start()`` resumes it); ``close()`` also deletes it.
    """

    dir: Path
    #: Seconds ``stop()`` waits for a clean shutdown before killing.
    stop_timeout: float = 30.0

    def __init__(self) -> None:
        self._process: ChildProcess | None = None

    def start(self) -> None:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.running

    def stop(self, timeout: float | None = None) -> None:
        if self._process is not None:
            self._process.stop(self.stop_timeout if timeout is None else timeout)

    def close(self) -> None:
        """Stop and delete the data folder."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
