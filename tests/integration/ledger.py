"""The facts of a run for the integration tests: `harness.ledger` (shared with `sagactl
chaos`), which fails here as soon as an order was reserved or released twice."""

from __future__ import annotations

from harness import ledger
from harness.ledger import RunFacts

__all__ = ["RunFacts", "collect"]


def collect(bootstrap: str) -> RunFacts:
    facts = ledger.collect(bootstrap)
    assert not facts.reserved_twice, f"reserved twice: {sorted(facts.reserved_twice)}"
    assert not facts.released_twice, f"released twice: {sorted(facts.released_twice)}"
    return facts
