"""The dashboard's monitor: every ~1.5 s, read the consumer groups from the broker's admin
API and check each service, the broker, the database and Redis; push the result to the
browsers (with the current change version, their heartbeat) and keep it in Redis for
pages that just loaded."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from dashboard import chaos, history
from dashboard.audit import AuditFeed
from dashboard.groups import GroupReading, group_view, service_health
from dashboard.kpis import read_kpis
from dashboard.processes import read_processes
from dashboard.status import STATUS_KEY
from gateway.projector.changes import GROUP
from gateway.projector.versions import Versions
from kafka_admin.client import new_admin, new_offsets_consumer
from kafka_admin.groups import TP, describe_groups
from kafka_admin.offsets import committed_offsets

log = logging.getLogger("dashboard.monitor")

#: The consumer groups shown, one per service that consumes.
GROUPS = ("payment", "inventory", "saga", "notification", "analytics", "auditor", "projector")
INTERVAL_S = 1.5
TIMEOUT_S = 3.0
#: An unsent outbox row older than this means the relay is not publishing.
RELAY_STALE = timedelta(seconds=10)


class Kafka:
    """Admin client and an offsets-only consumer, reopened after a failure."""

    def __init__(self, bootstrap: list[str]) -> None:
        self.bootstrap = bootstrap
        self.admin: AIOKafkaAdminClient | None = None
        self.consumer: AIOKafkaConsumer | None = None

    async def read(self, groups: tuple[str, ...]) -> tuple[list[GroupReading], dict[TP, int]]:
        if self.admin is None or self.consumer is None:
            ms = int(TIMEOUT_S * 1000)
            self.admin = new_admin(self.bootstrap, request_timeout_ms=ms)
            self.consumer = new_offsets_consumer(self.bootstrap, request_timeout_ms=ms)
            await self.admin.start()
            await self.consumer.start()
        readings = []
        for described in await describe_groups(self.admin, groups):
            offsets = await committed_offsets(self.admin, described.group)
            readings.append(
                GroupReading(
                    group=described.group,
                    state=described.state,
                    members=described.members,
                    committed={(tp.topic, tp.partition): o for tp, o in offsets.items()},
                )
            )
        wanted = {tp for r in readings for tp in (*r.committed, *_owned(r))}
        partitions = [TopicPartition(t, p) for t, p in sorted(wanted)]
        ends = await self.consumer.end_offsets(partitions) if partitions else {}
        return readings, {(tp.topic, tp.partition): end for tp, end in ends.items()}

    async def close(self) -> None:
        for client in (self.admin, self.consumer):
            if client is not None:
                with contextlib.suppress(Exception):
                    await (client.close() if client is self.admin else client.stop())  # type: ignore[union-attr]
        self.admin = self.consumer = None


def _owned(reading: GroupReading) -> list[TP]:
    return [tp for m in reading.members for tp in m.assignment]


def _outbox() -> dict[str, str]:
    """The relay's health, seen from the outbox it drains (a query that fails means the
    database is down)."""
    from django.db import connection
    from django.utils import timezone

    from gateway.outbox.models import OutboxMessage

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    unsent = OutboxMessage.objects.filter(sent_at__isnull=True)
    oldest = unsent.order_by("id").values_list("created_at", flat=True).first()
    count = unsent.count()
    connection.close()  # a long-running loop: do not hold a connection between polls
    if oldest is not None and timezone.now() - oldest > RELAY_STALE:
        return {"status": "down", "detail": f"{count} unsent outbox rows, oldest {oldest:%H:%M:%S}"}
    return {"status": "up", "detail": f"outbox backlog {count}"}


def _http_ok(url: str) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=TIMEOUT_S) as response:
        if response.status != 200:
            raise RuntimeError(f"answered {response.status}")


async def _check(name: str, probe: Any) -> dict[str, str]:
    try:
        result = await asyncio.wait_for(probe(), TIMEOUT_S)
        return {"name": name, "status": "up", "detail": "", **(result or {})}
    except Exception as exc:
        return {"name": name, "status": "down", "detail": f"{type(exc).__name__}: {exc}"[:200]}


class Monitor:
    def __init__(
        self, bootstrap: list[str], redis_url: str, versions: Versions, gateway_url: str = ""
    ) -> None:
        self.kafka = Kafka(bootstrap)
        self.audit = AuditFeed(bootstrap)
        self.redis_url = redis_url
        self.versions = versions
        self.gateway_url = gateway_url
        self.views: dict[str, dict[str, Any]] = {}

    async def poll(self) -> dict[str, Any]:
        """One status message: groups, health, the change version, when."""
        now = time.time()
        broker: dict[str, str] = {"name": "kafka", "status": "up", "detail": ""}
        try:
            readings, ends = await asyncio.wait_for(self.kafka.read(GROUPS), TIMEOUT_S * 2)
            self.views = {
                r.group: group_view(r, ends, self.views.get(r.group), now) for r in readings
            }
        except Exception as exc:
            await self.kafka.close()
            broker = {"name": "kafka", "status": "down", "detail": f"{type(exc).__name__}: {exc}"}
            self.views = {}
        redis_check = await _check("redis", self._redis_ping)
        relay = await _check("relay", sync_to_async(_outbox))  # raises when the DB is down
        database = {"name": "database", "status": "up", "detail": ""}
        if relay["detail"].startswith(("OperationalError", "InterfaceError", "TimeoutError")):
            database = {**relay, "name": "database"}
            relay = {"name": "relay", "status": "unknown", "detail": "the database is down"}
        services = []
        if self.gateway_url:
            services.append(await _check("gateway", self._gateway))
        services.append(relay)
        for group in GROUPS:
            services.append({"name": group, **service_health(self.views.get(group))})
        kpis: dict[str, Any] | None = None
        if database["status"] == "up":
            try:
                kpis = await asyncio.wait_for(sync_to_async(read_kpis)(), TIMEOUT_S)
            except Exception as exc:
                log.warning("dashboard monitor: KPIs not read: %s: %s", type(exc).__name__, exc)
        if kpis is not None and self.views:
            kpis["lag"] = sum(int(v["lag"]) for v in self.views.values())
        processes = await asyncio.to_thread(read_processes)
        audit = await self._audit()
        version = 0
        with contextlib.suppress(Exception):
            version = await self.versions.current()
        status: dict[str, Any] = {
            "type": "status",
            "version": version,
            "at": datetime.fromtimestamp(now, UTC).isoformat(),
            "groups": [self.views[g] for g in GROUPS if g in self.views],
            "health": {"services": services, "infrastructure": [broker, database, redis_check]},
            "kpis": kpis,
            # Local processes by service (state, restarts), when `sagactl run` runs them.
            "processes": processes,
            # The live auditor's verdict (dashboard.audit), None while it has said nothing.
            "audit": audit,
        }
        # The charts' point of this poll, and the chaos actions of the charts' window.
        status["sample"] = history.sample(status)
        status["chaos"] = []
        return status

    async def _audit(self) -> dict[str, Any] | None:
        try:
            return await asyncio.wait_for(self.audit.read(), TIMEOUT_S)
        except Exception as exc:
            log.warning("dashboard monitor: audit not read: %s: %s", type(exc).__name__, exc)
            await self.audit.close()
            return None

    async def _redis_ping(self) -> None:
        async with aioredis.from_url(self.redis_url) as client:
            await client.ping()

    async def _gateway(self) -> None:
        await asyncio.to_thread(_http_ok, f"{self.gateway_url}/health")

    async def publish(self, status: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):
            status["chaos"] = await asyncio.to_thread(self._chaos_and_keep, status)
        with contextlib.suppress(Exception):
            async with aioredis.from_url(self.redis_url) as client:
                await client.set(STATUS_KEY, json.dumps(status), ex=30)
        layer = get_channel_layer()
        if layer is not None:
            await layer.group_send(GROUP, {"type": "dashboard.push", "message": status})

    def _chaos_and_keep(self, status: dict[str, Any]) -> list[dict[str, Any]]:
        """Keep the status' sample in the charts' ring; the recent chaos actions."""
        client = redis.Redis.from_url(self.redis_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            if status.get("sample"):
                history.keep(client, status["sample"])
            return chaos.recent(client, time.time(), history.WINDOW_S)
        finally:
            client.close()

    async def run(self, stop: asyncio.Event, interval: float = INTERVAL_S) -> None:
        log.info("dashboard monitor: groups %s every %.1fs", ", ".join(GROUPS), interval)
        try:
            while not stop.is_set():
                try:
                    await self.publish(await self.poll())
                except Exception:
                    log.exception("dashboard monitor: poll failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)
        finally:
            await self.kafka.close()
            await self.audit.close()
