"""Runtime fault settings of each service, in the Redis hash the workers re-read."""

from __future__ import annotations

import msgspec
import redis

from contracts.failures import FAULTS_KEY, FaultSettings, decode_faults, encode_faults
from gateway.operations.domain import FAULT_SERVICES


def faults_get_all(*, client: redis.Redis) -> dict[str, FaultSettings]:
    """Every service's settings; a service without (or with unreadable) settings has none."""
    stored = client.hgetall(FAULTS_KEY)
    found: dict[str, FaultSettings] = {}
    for service in FAULT_SERVICES:
        raw = stored.get(service.encode())
        try:
            found[service] = decode_faults(raw) if raw else FaultSettings()
        except (msgspec.DecodeError, msgspec.ValidationError):
            found[service] = FaultSettings()
    return found


def faults_set(*, client: redis.Redis, service: str, settings: FaultSettings) -> None:
    """Store ``settings`` for ``service``; its workers pick them up within about a second."""
    client.hset(FAULTS_KEY, service, encode_faults(settings))
