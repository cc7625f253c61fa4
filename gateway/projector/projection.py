"""The projector's dispatch: fold one batch of records into the apps' read models, in one
transaction, each app into its own tables (its ``projection.py``), with set-based SQL.

A record the database cannot hold (a value beyond a column's bounds, say) must not hold
up the rest: when a batch's write fails with a data error, ``project_isolated`` writes it
again in parts, each in a savepoint (halving the part that fails, down to one record),
and returns the records that still fail, for the projector to dead-letter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction

from contracts import OrderEvent, StockLevel, TopProductsUpdated
from gateway.analytics.projection import project_snapshots
from gateway.catalog.projection import project_stock
from gateway.consumed import Seen
from gateway.operations.ingest import dead_letters_store
from gateway.orders.projection import Note, project_notes, project_orders

#: What a record's values can make a write raise: the database refuses them (too long,
#: out of range, a NUL, a broken constraint) or the driver cannot adapt them (an int
#: beyond 64 bits on SQLite). Anything else (the database gone, a bug) is not the
#: record's fault and stops the projector instead.
RECORD_ERRORS: tuple[type[Exception], ...] = (
    DataError,
    IntegrityError,
    ValidationError,
    ValueError,
    OverflowError,
)


@dataclass(frozen=True)
class Unit:
    """One consumed record's share of a batch: its event (None for a record that is only
    noted, a retry record) and the timeline notes it gives (a retry, a dead letter)."""

    seen: Seen | None
    notes: tuple[Note, ...] = field(default=())


def project_batch(batch: Sequence[Seen], notes: Sequence[Note] = ()) -> int:
    """Fold ``batch`` into the read model in one transaction; return orders changed.

    Order events go to orders and their timelines; ``StockLevel`` events to the catalog,
    ``TopProductsUpdated`` snapshots to the analytics read model, ``DeadLetter`` events
    to operations' dead letters; ``notes`` to the timelines.

    Idempotent: timeline rows are unique by ``event_id`` and the fold ignores
    events it has already absorbed, so a redelivered batch changes nothing.
    """
    events = [s for s in batch if isinstance(s.event, OrderEvent)]
    levels = [s.event for s in batch if isinstance(s.event, StockLevel)]
    snapshots = [s.event for s in batch if isinstance(s.event, TopProductsUpdated)]
    with transaction.atomic():
        if levels:
            project_stock(levels)
        if snapshots:
            project_snapshots(snapshots)
        changed = project_orders(events)
        dead_letters_store(batch)
        project_notes(list(notes))
    return changed


def project_units(units: Sequence[Unit]) -> int:
    return project_batch(
        [u.seen for u in units if u.seen is not None], [n for u in units for n in u.notes]
    )


def project_isolated(units: Sequence[Unit]) -> list[tuple[Unit, Exception]]:
    """Write ``units`` in one transaction; return the ones the database cannot hold.

    The whole batch first (one transaction). If that fails with one of
    ``RECORD_ERRORS``, again in one transaction where each part is a savepoint: a part
    that fails is halved and retried until the failing records are alone; every other
    record is written. A batch with one bad record costs about ``2 log2 n`` savepoints.
    """
    try:
        project_units(units)
        return []
    except RECORD_ERRORS:
        pass
    failed: list[tuple[Unit, Exception]] = []
    with transaction.atomic():
        _write_parts(list(units), failed)
    return failed


def _write_parts(units: list[Unit], failed: list[tuple[Unit, Exception]]) -> None:
    try:
        with transaction.atomic():  # a savepoint
            project_units(units)
        return
    except RECORD_ERRORS as exc:
        if len(units) == 1:
            failed.append((units[0], exc))
            return
    half = len(units) // 2
    _write_parts(units[:half], failed)
    _write_parts(units[half:], failed)
