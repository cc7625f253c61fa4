"""``create_app``: one fresh, uniformly configured Faust app per worker (and per test);
``route_failures``: the worker's failure handling, metrics and fault follower, built
from its settings."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import faust

from config.env import PlatformSettings
from config.prometheus import Metrics
from streaming import fetch, write_behind
from streaming import metrics as worker_metrics
from streaming.failures import FailureHandling, follow_faults
from streaming.faults import FaultInjector
from streaming.settings import StreamingSettings
from streaming.upstream import commit_watchdog, direct_delivery, lazy_log_format

#: Faust reads its own settings from the environment, and the environment wins over
#: the arguments given here. The prefix confines that to ``FAUST_<SETTING>`` variables
#: (e.g. ``FAUST_TOPIC_REPLICATION_FACTOR=3``), so generic names that other tools set
#: (``BROKER``, ``WEB_PORT``, ``DEBUG``...) never reconfigure a worker by accident.
ENV_PREFIX = "FAUST_"


def create_app(
    name: str,
    settings: PlatformSettings,
    worker: StreamingSettings | None = None,
    *,
    observer: bool = False,
    **overrides: Any,
) -> faust.App:
    """A new Faust app for the worker ``name``; ``overrides`` win over every default.

    ``name`` is the app id, hence the consumer group and the prefix of the app's
    changelog topics. Call it once per process, or once per test: never share a
    module-level app. Choices, each overridable:

    - ``topic_replication_factor`` from ``TOPIC_REPLICATION_FACTOR``: changelogs are
      replicated like the project's topics (the brokers' ``min.insync.replicas`` holds).
    - ``store="memory://"``: tables live in RAM and are rebuilt from their compacted
      changelog topic on start (no RocksDB, no local state to lose or migrate).
    - ``topic_allow_declare=True`` with project topics bound as non-internal
      (``streaming.topics.bind``): Faust creates only what it owns (table changelogs);
      source topics are created by the project, and broker auto-create is off.
      ``topic_disable_leader``: no agent uses ``on_leader``, so no leader topic.
    - raw bytes keys and values: messages are decoded by ``contracts.decode`` only.
    - ``processing_guarantee="at_least_once"``: exactly-once has open bugs in Faust
      0.15.3 and costs seconds per hop. Faust flushes the producer before it commits
      offsets, so an event's outputs are sent before its offset is committed, and a
      crash in between means a redelivery: handlers are idempotent.
    - ``producer_acks=-1`` (all in-sync replicas): with ``acks=1`` a leader failover can
      drop a record the producer was told was written, and since the input offset is
      then committed, that payment decision or table write would be lost for good. On
      one broker it costs nothing; on a cluster, one replication round trip (~1 ms).
    - ``producer_linger=0.001``: a handler's sends (its table write and its output event)
      can share one request, and it adds at most 1 ms to a hop. Measured on one payment
      worker: a hop took 10 ms (p50) with 5 ms linger and 4 ms with 1 ms, for the same
      throughput (under load aiokafka batches whatever queues during a request anyway).
    - ``broker_session_timeout=10``: a killed worker's partitions move to the survivors
      after ~10 s instead of Faust's 60 s default (heartbeats run in the consumer's own
      thread, so a busy agent does not cause false evictions).
    - ``table_standby_replicas=0``: standbys would hold a second copy of other workers'
      tables in RAM; recovering a partition from its changelog is quick at this scale.
    - ``consumer_auto_offset_reset="earliest"``: a new group starts with the oldest
      retained event, so nothing published before its first start is skipped.
    - web server off unless ``worker.web_port`` (``FAUST_WEB_PORT``) is set, then on
      127.0.0.1 only.
    - no Faust fixups: workers never load Django, even when ``DJANGO_SETTINGS_MODULE``
      is set for the gateway in the same environment.
    - the consumer of ``streaming.upstream.direct_delivery``: each message is delivered
      without Faust's per-message task fan-out, and never marked read when a rebalance
      kept it from its stream (the cause of the #596 commit stalls).
    - mode's service loggers format a message only when its level is on
      (``streaming.upstream.lazy_log_format``).
    - write-behind tables (``streaming.write_behind``): a table's changelog gets each
      changed key's latest value once per producer flush (Faust flushes before every
      commit), not a record per write; ``write_through(table)`` opts a table out.
    - a commit watchdog (``streaming.upstream.commit_watchdog``) re-reads a partition whose
      commits stopped behind messages Faust dropped in a recovery race.
    - the event loop ``settings.event_loop`` (``EVENT_LOOP``, uvloop by default), which
      ``streaming.run`` installs before Faust's worker creates its loops (see
      ``event_loop_of``).
    - ``observer``: for an app nobody waits on (notification, analytics, the auditor),
      the broker answers its fetches every ``settings.observer_fetch_wait_ms``
      (``OBSERVER_FETCH_WAIT_MS``) with what arrived meanwhile, instead of once per event
      (``streaming.fetch``); otherwise (the saga's hops) as soon as a record is there.
    - ``datadir`` in the temporary directory: the memory store keeps nothing on disk,
      but Faust still creates the folder, which would otherwise land in the cwd.
    """
    web_port = None if worker is None else worker.web_port
    options: dict[str, Any] = {
        "broker": settings.faust_broker,
        "env_prefix": ENV_PREFIX,
        "autodiscover": False,
        "store": "memory://",
        "topic_partitions": settings.topic_partitions,
        "topic_replication_factor": settings.topic_replication_factor,
        "topic_allow_declare": True,
        "topic_disable_leader": True,
        "key_serializer": "raw",
        "value_serializer": "raw",
        "processing_guarantee": "at_least_once",
        "producer_acks": -1,
        "producer_linger": 0.001,
        "broker_session_timeout": 10.0,
        "broker_heartbeat_interval": 3.0,
        "table_standby_replicas": 0,
        "consumer_auto_offset_reset": "earliest",
        "web_enabled": web_port is not None,
        "web_bind": "127.0.0.1",
        "web_host": "127.0.0.1",
        "datadir": Path(tempfile.gettempdir()) / f"faust-{name}-data",
        "Table": write_behind.WriteBehindTable,
    }
    if web_port is not None:
        options["web_port"] = web_port
    options.update(overrides)
    app = faust.App(name, **options)
    direct_delivery.install(app)
    fetch.install(app, settings.observer_fetch_wait_ms if observer else 0)
    write_behind.install(app)
    lazy_log_format.install()
    # With DJANGO_SETTINGS_MODULE in the environment (the gateway's), Faust's Django
    # fixup would import Django into every worker, run django.setup() and its system
    # checks, and Django's logging config would silence the Kafka client's loggers.
    app.fixups.clear()
    commit_watchdog.install(app)
    # For ``streaming.run``, which installs it: Faust's worker makes its loops itself.
    setattr(app, _EVENT_LOOP_ATTRIBUTE, settings.event_loop)
    return app


_EVENT_LOOP_ATTRIBUTE = "_platform_event_loop"


def event_loop_of(app: faust.App) -> str:
    """The event loop ``app``'s worker runs on (``uvloop`` or ``asyncio``): the
    ``event_loop`` of the settings ``create_app`` was given; ``asyncio`` for an app
    made otherwise."""
    return str(getattr(app, _EVENT_LOOP_ATTRIBUTE, "asyncio"))


def route_failures(
    app: faust.App, platform: PlatformSettings, worker: StreamingSettings
) -> FailureHandling:
    """The failure handling of a worker's guards, built from its settings, step by step.

    A worker's ``create_app`` calls it (unless told ``route_failures=False``: unit tests
    without a broker) and hands the result to its agents' guards.
    """
    group = str(app.conf.id)
    injector = FaultInjector(group, worker.faults)
    metrics = Metrics()
    handling = FailureHandling.bind(app, worker.retry_policy, injector, metrics)
    handling.add_retry_agents(app)
    follow_faults(app, injector, platform.redis_url, worker.faults)
    worker_metrics.register_gauges(metrics, app, injector)
    address = worker.metrics_address
    if address is not None:
        worker_metrics.serve_from(app, metrics, *address)
    return handling
