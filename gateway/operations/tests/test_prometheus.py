"""The hand-written Prometheus text renderer and the gateway's metric families."""

from __future__ import annotations

from config.prometheus import Metric, render
from gateway.operations.kafka_figures import KafkaFigures
from gateway.operations.metrics import gateway_metrics


def test_render_writes_help_type_and_escaped_samples() -> None:
    text = render(
        [
            Metric("a_total", "counter", "Things.\nMore.", [({"k": 'q"\\\n'}, 3)]),
            Metric("b", "gauge", "B.", [({}, 1.5)]),
        ]
    )
    assert text == (
        "# HELP a_total Things.\\nMore.\n"
        "# TYPE a_total counter\n"
        'a_total{k="q\\"\\\\\\n"} 3\n'
        "# HELP b B.\n"
        "# TYPE b gauge\n"
        "b 1.5\n"
    )


def test_gateway_metrics_name_every_figure() -> None:
    text = render(
        gateway_metrics(
            requests={"2xx": 5, "4xx": 1},
            accepted=2,
            outbox_backlog=0,
            pending=[("orders.v1", "TimeoutError", 3)],
            resolved={"redriven": 1, "discarded": 0},
            broker=KafkaFigures(
                written={"orders.retry.1s.v1": 7}, lag={("orders.v1", 0): 4}, error=None
            ),
        )
    )
    assert 'gateway_http_requests_total{code="2xx"} 5' in text
    assert "gateway_orders_accepted_total 2" in text
    assert "gateway_outbox_backlog 0" in text
    assert 'saga_dlq_pending{topic="orders.v1",error_type="TimeoutError"} 3' in text
    assert 'saga_dlq_resolved{status="redriven"} 1' in text
    assert 'saga_retry_records{topic="orders.retry.1s.v1"} 7' in text
    assert 'gateway_projector_lag{topic="orders.v1",partition="0"} 4' in text
    assert "gateway_metrics_broker_up 1" in text


def test_a_silent_broker_is_reported_not_hidden() -> None:
    text = render(
        gateway_metrics(
            requests={},
            accepted=0,
            outbox_backlog=0,
            pending=[],
            resolved={},
            broker=KafkaFigures(error="KafkaConnectionError: down"),
        )
    )
    assert "gateway_metrics_broker_up 0" in text
