"""Where each infrastructure component comes from: the environment, Docker, or a local process."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping

#: Component name -> the environment variable that points at an existing instance.
ENV_VARS: dict[str, str] = {
    "kafka": "KAFKA_BOOTSTRAP_SERVERS",
    "postgres": "DATABASE_URL",
    "redis": "REDIS_URL",
}


class Source(enum.Enum):
    OFF = "off"  # not wanted
    EXTERNAL = "external"  # the environment variable names a running instance
    DOCKER = "docker"  # a container started through testcontainers
    LOCAL = "local"  # a process of this machine started by the harness


def plan(
    wanted: Mapping[str, bool],
    environ: Mapping[str, str],
    docker_available: Callable[[], bool],
) -> dict[str, Source]:
    """Choose a source per component; ``docker_available`` is asked at most once, and only
    when some wanted component is not already given by the environment."""
    chosen: dict[str, Source] = {}
    docker: bool | None = None
    for name in ENV_VARS:
        if not wanted.get(name, False):
            chosen[name] = Source.OFF
        elif environ.get(ENV_VARS[name], "").strip():
            chosen[name] = Source.EXTERNAL
        else:
            if docker is None:
                docker = docker_available()
            chosen[name] = Source.DOCKER if docker else Source.LOCAL
    return chosen
