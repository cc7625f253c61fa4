"""`GET /metrics/dlq` (JSON figures of the DLQ) and `GET /metrics` (Prometheus text for
the gateway). Both are read-only counts, public like `/health`: no record contents.
Anonymous, so the broker's figures are one shared reading per process reused for
``KAFKA_READING_TTL_S``, and each client IP has the ``public`` request rate."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse

from config.prometheus import CONTENT_TYPE, Metric, render
from contracts import topics
from gateway.consumed import GROUP as PROJECTOR_GROUP
from gateway.consumed import TOPICS as PROJECTOR_TOPICS
from gateway.memo import KAFKA_READING_TTL_S, Memo
from gateway.operations import counters
from gateway.operations.kafka_figures import KafkaFigures, kafka_figures
from gateway.operations.models import DeadLetterRecord, DeadLetterStatus
from gateway.operations.selectors import DlqFigures, dlq_figures
from gateway.outbox.services import outbox_state
from gateway.throttles import throttled

RETRY_TOPICS = [t.name for t in topics.RETRY_TIERS]


def _read_broker() -> KafkaFigures:
    return kafka_figures(
        settings.PLATFORM.bootstrap_list,
        written_topics=RETRY_TOPICS,
        group=PROJECTOR_GROUP,
        group_topics=PROJECTOR_TOPICS,
    )


BROKER_READING: Memo[KafkaFigures] = Memo(KAFKA_READING_TTL_S)


def _broker() -> KafkaFigures:
    return BROKER_READING.get(_read_broker)


def dlq_body(figures: DlqFigures, broker: KafkaFigures) -> dict[str, Any]:
    return {
        "depth": {
            "pending": sum(figures.pending_by_topic.values()),
            "byTopic": figures.pending_by_topic,
            "byErrorType": figures.pending_by_error_type,
            "byGroup": figures.pending_by_group,
        },
        "retries": {
            "byTier": {t: broker.written.get(t) for t in RETRY_TOPICS},
            "error": broker.error,
        },
        "redriven": figures.by_status[DeadLetterStatus.REDRIVEN],
        "discarded": figures.by_status[DeadLetterStatus.DISCARDED],
        "auditActions": figures.audit_actions,
    }


@throttled("public")
def dlq(request: HttpRequest) -> HttpResponse:
    """DLQ depth by original topic, error type and group; retry-tier records; redrives."""
    return JsonResponse(dlq_body(dlq_figures(), _broker()))


def gateway_metrics(
    *,
    requests: dict[str, int],
    accepted: int,
    outbox_backlog: int,
    outbox_oldest_age_s: float = 0.0,
    pending: list[tuple[str, str, int]],
    resolved: dict[str, int],
    broker: KafkaFigures,
) -> list[Metric]:
    """The gateway's metric families from figures already gathered (pure)."""
    metrics = [
        Metric(
            "gateway_http_requests_total",
            "counter",
            "HTTP responses since the gateway started, by status class.",
            [({"code": c}, n) for c, n in sorted(requests.items())],
        ),
        Metric(
            "gateway_orders_accepted_total",
            "counter",
            "Orders accepted (202, replays excluded) since the gateway started.",
            [({}, accepted)],
        ),
        Metric(
            "gateway_outbox_backlog",
            "gauge",
            "Outbox rows not yet published to Kafka.",
            [({}, outbox_backlog)],
        ),
        Metric(
            "gateway_outbox_oldest_age_seconds",
            "gauge",
            "How long the oldest unpublished outbox row has waited (0 when none).",
            [({}, round(outbox_oldest_age_s, 3))],
        ),
        Metric(
            "saga_dlq_pending",
            "gauge",
            "Dead letters waiting for a redrive or discard, by original topic and error type.",
            [({"topic": t, "error_type": e}, n) for t, e, n in pending],
        ),
        Metric(
            "saga_dlq_resolved",
            "gauge",
            "Dead letters resolved by an operator, by outcome.",
            [({"status": s}, n) for s, n in sorted(resolved.items())],
        ),
        Metric(
            "saga_retry_records",
            "gauge",
            "Records ever written to each retry tier topic (sum of end offsets).",
            [({"topic": t}, n) for t, n in sorted(broker.written.items())],
        ),
        Metric(
            "gateway_projector_lag",
            "gauge",
            "Records the projector's consumer group has not committed, per partition.",
            [({"topic": t, "partition": str(p)}, n) for (t, p), n in sorted(broker.lag.items())],
        ),
        Metric(
            "gateway_metrics_broker_up",
            "gauge",
            "1 when the broker answered this scrape (retry and lag figures are present).",
            [({}, 0 if broker.error else 1)],
        ),
    ]
    return metrics


@throttled("public")
def prometheus(request: HttpRequest) -> HttpResponse:
    """The gateway's metrics in Prometheus text format 0.0.4."""
    requests, accepted = counters.snapshot()
    pending = [
        (row["original_topic"], row["error_type"], row["n"])
        for row in DeadLetterRecord.objects.filter(status=DeadLetterStatus.PENDING)
        .values("original_topic", "error_type")
        .annotate(n=Count("id"))
        .order_by("original_topic", "error_type")
    ]
    figures = dlq_figures()
    outbox = outbox_state()
    metrics = gateway_metrics(
        requests=requests,
        accepted=accepted,
        outbox_backlog=outbox.backlog,
        outbox_oldest_age_s=outbox.oldest_age_s,
        pending=pending,
        resolved={s: n for s, n in figures.by_status.items() if s != DeadLetterStatus.PENDING},
        broker=_broker(),
    )
    return HttpResponse(render(metrics), content_type=CONTENT_TYPE)
