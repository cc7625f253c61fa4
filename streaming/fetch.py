"""Coalesced fetches for a Faust app nobody waits on (``kafka_admin.fetch``): its
consumer thread makes aiokafka's consumer as Faust does, then sets its fetch wait.

``create_app(..., observer=True)`` installs it; the saga's own workers (payment,
inventory, saga) and the co-hosted worker never do.
"""

from __future__ import annotations

from typing import Any, ClassVar

import faust
from faust.transport.drivers import aiokafka as driver

from kafka_admin import fetch
from streaming.upstream import direct_delivery


class CoalescingConsumerThread(driver.AIOKafkaConsumerThread):
    """Faust's consumer thread, whose worker consumer fetches every ``wait_ms``."""

    wait_ms: ClassVar[int] = 0

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        fetch.apply(consumer, self.wait_ms)
        return consumer


def install(app: faust.App, wait_ms: int) -> None:
    """Make ``app``'s consumer fetch every ``wait_ms`` milliseconds (0: leave it as it is).

    Call it right after ``direct_delivery.install``, before anything created the consumer.
    """
    if wait_ms == 0:
        return
    fetch.coalesced(wait_ms)  # refuses a negative wait here, not in the consumer thread
    thread = type("CoalescingConsumerThread", (CoalescingConsumerThread,), {"wait_ms": wait_ms})

    def new_thread(consumer: Any) -> Any:
        return thread(consumer, loop=consumer.loop, beacon=consumer.beacon)

    consumer = type(
        "CoalescingConsumer",
        (direct_delivery.DirectDeliveryConsumer,),
        {"_new_consumer_thread": new_thread},
    )
    transport = type("CoalescingTransport", (direct_delivery.Transport,), {"Consumer": consumer})
    if not isinstance(app.transport, direct_delivery.Transport):
        raise RuntimeError("streaming.fetch.install: install direct_delivery first")
    app.transport = transport(app.conf.broker_consumer, app)
