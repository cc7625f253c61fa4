"""``StreamingSettings``: what every worker reads besides its own service's settings.

Each worker's settings object holds one (field ``streaming``), made with
``StreamingSettings.from_env("<service>")``, so that the settings given to
``create_app`` are the worker's whole configuration: nothing in ``streaming`` reads
the environment itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from config.env import Environ, non_negative, read, seconds_list, setting, string
from config.env import integer as whole
from config.env import port as port_number
from contracts.failures import FaultSettings
from streaming.retrying import DEFAULT_DELAYS, RetryPolicy

#: The variables of a service's injected faults; ``<SERVICE>`` is its name in capitals.
FAULT_VARIABLES = (
    "<SERVICE>_FAULT_RATE",
    "<SERVICE>_FAULT_LATENCY_MS",
    "<SERVICE>_FAULT_FAIL_ATTEMPTS",
)


def fault_settings(service: str, environ: Environ | None = None) -> FaultSettings:
    """``service``'s fault settings from its ``<SERVICE>_FAULT_*`` variables (clear errors)."""
    prefix = f"{service.upper()}_FAULT_"
    try:
        values = {
            "failureRate": read(prefix + "RATE", non_negative, 0.0, environ),
            "latencyMs": read(prefix + "LATENCY_MS", whole, 0, environ),
            "failAttempts": read(prefix + "FAIL_ATTEMPTS", whole, 0, environ),
        }
        return msgspec.convert(values, FaultSettings)
    except (ValueError, msgspec.ValidationError) as exc:
        raise ValueError(f"{prefix}*: invalid fault settings: {exc}") from None


@dataclass(frozen=True)
class StreamingSettings:
    """Retry tiers, injected faults, metrics endpoint and Faust web port of one worker."""

    retry_delays: tuple[float, ...] = setting(
        "RETRY_DELAYS", seconds_list, DEFAULT_DELAYS, shown="1,4,16"
    )
    """Comma-separated seconds, one per retry tier (at most one per tier topic); a
    transient failure is retried after each in turn, then dead-lettered."""

    metrics_port: int | None = setting("METRICS_PORT", port_number, None)
    """Serve ``GET /metrics`` (Prometheus text) on this port (``0``: any free port, the
    address is logged); off when unset."""

    metrics_host: str = setting("METRICS_HOST", string, "127.0.0.1")
    """The address the metrics endpoint listens on."""

    web_port: int | None = setting("FAUST_WEB_PORT", port_number, None)
    """Serve Faust's web views (metrics, table views) on 127.0.0.1 at this port; off when
    unset (several workers share one machine)."""

    faults: FaultSettings = field(
        default_factory=FaultSettings,
        metadata={"env": ", ".join(FAULT_VARIABLES), "default": "0, 0, 0"},
    )
    """Faults injected into the service's event handling at start (``streaming.faults``):
    the share of attempts that fail (0 to 1), a delay before each attempt in ms, and how
    many first attempts of each event fail. An operator changes them at run time through
    Redis. ``<SERVICE>`` is the service's name in capitals (``PAYMENT``, ...)."""

    def __post_init__(self) -> None:
        self.retry_policy  # noqa: B018 -- validate the tiers at startup

    @classmethod
    def from_env(cls, service: str, environ: Environ | None = None) -> StreamingSettings:
        """The settings of ``service``'s worker, read from the environment."""
        return cls(
            retry_delays=read("RETRY_DELAYS", seconds_list, DEFAULT_DELAYS, environ),
            metrics_port=read("METRICS_PORT", port_number, None, environ),
            metrics_host=read("METRICS_HOST", string, "127.0.0.1", environ),
            web_port=read("FAUST_WEB_PORT", port_number, None, environ),
            faults=fault_settings(service, environ),
        )

    @property
    def retry_policy(self) -> RetryPolicy:
        """The backoff over the retry tiers these settings configure."""
        return RetryPolicy(delays=self.retry_delays)

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        """``(host, port)`` of the metrics endpoint, or None when it is off."""
        return None if self.metrics_port is None else (self.metrics_host, self.metrics_port)
