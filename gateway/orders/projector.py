"""The projector process: consume the saga topics in batches and fold them into the read model.

One consumer group (``projector``); offsets are committed only after the batch's
database transaction committed (at least once; the fold is idempotent). One
database round trip set per batch, never per event.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer
from asgiref.sync import sync_to_async

import contracts
from contracts import topics
from gateway.orders.projection import Seen, project_batch

log = logging.getLogger("gateway.projector")

GROUP = "projector"


#: Every order event, the stock levels for the catalog, and the analytics snapshots.
TOPICS = [t.name for t in (*topics.SAGA_TOPICS, topics.STOCK, topics.SNAPSHOTS)]


async def run(bootstrap: list[str], stop: asyncio.Event, *, group: str = GROUP) -> None:
    consumer = AIOKafkaConsumer(
        *TOPICS,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=1000,
        fetch_max_wait_ms=100,
    )
    await consumer.start()
    log.info("projector: consuming %s as group %r", TOPICS, group)
    try:
        while not stop.is_set():
            polled = await consumer.getmany(timeout_ms=500, max_records=1000)
            batch: list[Seen] = []
            for tp, records in polled.items():
                for record in records:
                    try:
                        event = contracts.decode(record.value or b"")
                    except contracts.ContractError as exc:
                        log.error(
                            "projector: undecodable message %s[%d]@%d skipped: %s",
                            tp.topic,
                            tp.partition,
                            record.offset,
                            exc,
                        )
                        continue
                    batch.append(Seen(tp.topic, tp.partition, record.offset, event))
            if batch:
                await sync_to_async(project_batch)(batch)
            if polled:
                await consumer.commit()
    finally:
        await consumer.stop()
