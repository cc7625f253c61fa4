"""The one shared support package of the tests: worker subprocesses (``worker``) and
waiting on a condition with a deadline (``waiting``). Event factories and a recording
publisher ship with the contracts (``contracts.testing``)."""

from tests.support.waiting import eventually, eventually_async
from tests.support.worker import WorkerProcess, worker_env

__all__ = ["WorkerProcess", "eventually", "eventually_async", "worker_env"]
