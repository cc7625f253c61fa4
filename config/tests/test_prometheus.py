"""The text exposition a Prometheus scraper (and the README's curl) reads."""

from config.prometheus import Metrics


def test_counters_add_up_per_label_set_and_render_sorted() -> None:
    metrics = Metrics()
    metrics.inc("saga_events_total", "Events", agent="payment", outcome="handled")
    metrics.inc("saga_events_total", "Events", agent="payment", outcome="handled")
    metrics.inc("saga_events_total", "Events", agent="payment", outcome="invalid")
    metrics.set("saga_up", "Up", 1)
    assert metrics.value("saga_events_total", agent="payment", outcome="handled") == 2
    assert metrics.total("saga_events_total") == 3
    assert metrics.render().splitlines() == [
        "# HELP saga_events_total Events",
        "# TYPE saga_events_total counter",
        'saga_events_total{agent="payment",outcome="handled"} 2',
        'saga_events_total{agent="payment",outcome="invalid"} 1',
        "# HELP saga_up Up",
        "# TYPE saga_up gauge",
        "saga_up 1",
    ]


def test_collected_gauges_are_computed_at_render_and_values_escaped() -> None:
    metrics = Metrics()
    calls: list[int] = []

    def lag() -> list[tuple[dict[str, str], float]]:
        calls.append(1)
        return [({"topic": 'odd"name\n'}, 2.5)]

    metrics.collect("saga_consumer_lag", "Lag\nper partition", lag)
    text = metrics.render()
    assert calls == [1]
    assert "# HELP saga_consumer_lag Lag\\nper partition" in text
    assert 'saga_consumer_lag{topic="odd\\"name\\n"} 2.5' in text
