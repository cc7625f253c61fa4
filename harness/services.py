"""The platform's process table: what `sagactl run` starts, how, and when it counts as ready."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field


class ServiceError(ValueError):
    """An unknown service name, or a scale that cannot be applied."""


@dataclass(frozen=True)
class HttpOk:
    """Ready when ``GET http://127.0.0.1:{port}{path}`` answers 200."""

    path: str


@dataclass(frozen=True)
class LogLine:
    """Ready once the process prints a line matching ``pattern`` (a regular expression)."""

    pattern: str


Readiness = HttpOk | LogLine | None


@dataclass(frozen=True)
class Service:
    """One row of the process table.

    ``argv`` and ``env`` values are templates: ``{python}`` (this interpreter),
    ``{port}`` (the gateway's HTTP port) and ``{instance}`` (e.g. ``payment.2``).
    """

    name: str
    argv: tuple[str, ...]
    #: None: ready as soon as it runs.
    ready: Readiness = None
    #: Several instances may run at once (``SCALE=payment=3``).
    scalable: bool = False
    #: Needs the gateway's database migrated before it starts.
    uses_db: bool = False
    env: Mapping[str, str] = field(default_factory=dict)
    #: A one-shot command run once (not per instance) before the service starts.
    setup: tuple[str, ...] = ()
    #: The Kafka consumer group its processes join (`sagactl replay --stop-local`).
    group: str | None = None


def worker(name: str, setup: tuple[str, ...] = ()) -> Service:
    """A Faust worker, ``python -m <name> worker``. ``streaming.create_app`` keeps Faust's
    web server off (unless ``FAUST_WEB_PORT``) and the memory store, so instances of one
    worker share nothing on the machine and scale freely."""
    return Service(
        name,
        ("{python}", "-m", name, "worker", "-l", "info"),
        ready=LogLine(r"\[\^Worker\]: Ready"),
        scalable=True,
        setup=setup,
        group=name,
        # /metrics on a free loopback port; the worker logs "metrics: http://...".
        env={"METRICS_PORT": "0"},
    )


#: One-shot, before anything that uses the database.
MIGRATE: tuple[str, ...] = ("{python}", "manage.py", "migrate", "--noinput")

#: Every long-running process, in start order (stopped in reverse).
SERVICES: tuple[Service, ...] = (
    Service(
        "gateway",
        (
            "{python}",
            "-m",
            "gateway",
            "-b",
            "127.0.0.1",
            "-p",
            "{port}",
            "gateway.asgi:application",
        ),
        ready=HttpOk("/health"),
        uses_db=True,
        # The staff user of the DLQ/fault APIs, from ADMIN_USERNAME/ADMIN_PASSWORD if set.
        setup=("{python}", "manage.py", "ensure_admin"),
    ),
    # Both wait (logging "waiting for Kafka/PostgreSQL at ...") until their dependencies
    # answer; ready once connected.
    Service(
        "relay",
        ("{python}", "manage.py", "relay_outbox"),
        ready=LogLine(r"relay: connected to Kafka"),
        uses_db=True,
    ),
    Service(
        "projector",
        ("{python}", "manage.py", "project_events"),
        ready=LogLine(r"projector: consuming"),
        uses_db=True,
        group="projector",
    ),
    worker("payment"),
    # Stock lives in Redis: load the catalogue unless it is already there.
    worker("inventory", setup=("{python}", "-m", "inventory", "seed", "--if-empty")),
    worker("saga"),
    worker("notification"),
    worker("analytics"),
    # The live invariant auditor: reads the saga's topics, publishes its verdict to audit.v1.
    worker("auditor"),
    # The dashboard's monitor: consumer groups and health, polled and pushed to browsers.
    Service(
        "dashboard",
        ("{python}", "manage.py", "dashboard_monitor"),
        ready=LogLine(r"dashboard monitor: groups"),
        uses_db=True,
        env={"GATEWAY_URL": "http://127.0.0.1:{port}"},
    ),
)


#: The services whose agents a co-hosted worker runs in one process (``cohost``).
COHOSTED = ("payment", "inventory", "saga", "notification", "analytics")

#: The co-hosted worker: ``python -m cohost worker``, one consumer group ``workers``.
WORKERS = Service(
    "workers",
    ("{python}", "-m", "cohost", "worker", "-l", "info"),
    ready=LogLine(r"\[\^Worker\]: Ready"),
    scalable=True,
    setup=("{python}", "-m", "inventory", "seed", "--if-empty"),
    group="workers",
    env={"METRICS_PORT": "0"},
)


def cohosted(table: Sequence[Service] = SERVICES) -> tuple[Service, ...]:
    """``table`` with the rows of ``COHOSTED`` replaced by one ``workers`` row, where the
    first of them stood (`sagactl run --cohost`; ``cohost.app`` says what it changes)."""
    rows: list[Service] = []
    for service in table:
        if service.name not in COHOSTED:
            rows.append(service)
        elif WORKERS not in rows:
            rows.append(WORKERS)
    return tuple(rows)


@dataclass(frozen=True)
class Instance:
    """One process to run: a service, and which copy of it (``payment.2``)."""

    service: Service
    name: str
    index: int


def by_name(name: str, table: Sequence[Service] = SERVICES) -> Service:
    for service in table:
        if service.name == name:
            return service
    raise ServiceError(f"unknown service {name!r}; known services: {_known(table)}")


def for_group(group: str, table: Sequence[Service] = SERVICES) -> Service | None:
    """The service whose processes consume as ``group``, if the table has one."""
    return next((s for s in table if s.group == group), None)


def instance_name(service: str, index: int) -> str:
    """``payment`` for the first instance, ``payment.2``, ``payment.3`` for more."""
    return service if index == 1 else f"{service}.{index}"


def parse_only(text: str, table: Sequence[Service] = SERVICES) -> list[str]:
    """``"gateway,relay"`` -> the named services, in table order; empty text -> all."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    for name in names:
        by_name(name, table)
    if not names:
        return [service.name for service in table]
    return [service.name for service in table if service.name in names]


def parse_scale(text: str, table: Sequence[Service] = SERVICES) -> dict[str, int]:
    """``"payment=3,inventory=2"`` -> ``{"payment": 3, "inventory": 2}``; empty -> ``{}``."""
    scale: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, count = (s.strip() for s in part.partition("="))
        if not sep or not name:
            raise ServiceError(f"bad scale {part!r}: expected SERVICE=COUNT, e.g. payment=3")
        service = by_name(name, table)
        try:
            n = int(count)
        except ValueError:
            raise ServiceError(f"bad scale {part!r}: {count!r} is not a whole number") from None
        if n < 1:
            raise ServiceError(f"bad scale {part!r}: the count must be at least 1")
        if n > 1 and not service.scalable:
            scalable = ", ".join(s.name for s in table if s.scalable) or "none"
            raise ServiceError(f"{name} runs once and cannot scale; scalable: {scalable}")
        if name in scale:
            raise ServiceError(f"bad scale {text!r}: {name} is given twice")
        scale[name] = n
    return scale


def instances(
    names: Iterable[str], scale: Mapping[str, int], table: Sequence[Service] = SERVICES
) -> list[Instance]:
    """Expand selected services into processes: ``payment`` x3 -> payment.1 .. payment.3."""
    selected = list(names)
    for name in scale:
        if name not in selected:
            raise ServiceError(
                f"{name} is scaled but not selected (selected: {', '.join(selected)})"
            )
    result: list[Instance] = []
    for name in selected:
        service = by_name(name, table)
        count = scale.get(name, 1)
        if count == 1:
            result.append(Instance(service, name, 1))
        else:
            result.extend(Instance(service, f"{name}.{i}", i) for i in range(1, count + 1))
    return result


def _known(table: Sequence[Service]) -> str:
    return ", ".join(service.name for service in table)
