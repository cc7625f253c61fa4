"""Set-based SQL for the projector's folds: one statement per table per batch, not the
ORM per row. Below the apps (like ``gateway.consumed``): each app's ``projection.py``
builds its statements here; ``gateway.projector`` runs them in its batch's transaction.

``Table`` describes the columns of a Django model that a statement writes; ``insert``
builds ``INSERT … VALUES (…), (…) ON CONFLICT …`` (nothing, or an update guarded by a
``WHERE``), ``update`` builds ``WITH v(…) AS (VALUES …) UPDATE … FROM v``. Both forms are
accepted by PostgreSQL and by SQLite ≥ 3.33 (the embedded default database). Values are
adapted by the model fields themselves (``get_db_prep_save``), so a row written here is
the row the ORM would write; on PostgreSQL the ``VALUES`` of an update are cast to the
columns' types. Statements are split only when a batch has more parameters than the
database accepts in one statement.

Pure builders (``insert``/``update`` return SQL and parameters); ``execute`` runs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

#: PostgreSQL accepts at most 65,535 parameters in one statement.
_PG_MAX_PARAMS = 65_535

Statement = tuple[str, list[Any]]


@dataclass(frozen=True)
class Table:
    """The columns ``columns`` (field names) of ``model``'s table, in that order."""

    model: type[Model]
    columns: tuple[str, ...]
    fields: tuple[Field[Any, Any], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        meta = self.model._meta
        object.__setattr__(self, "fields", tuple(meta.get_field(c) for c in self.columns))

    @property
    def name(self) -> str:
        return self.model._meta.db_table

    def column(self, name: str) -> str:
        column = self.fields[self.columns.index(name)].column
        assert column is not None
        return column

    def adapters(self, db: BaseDatabaseWrapper) -> list[Callable[[Any], Any]]:
        """One function per column: a Python value to what the database driver takes."""
        return [_adapter(f, db) for f in self.fields]


def _adapter(f: Field[Any, Any], db: BaseDatabaseWrapper) -> Callable[[Any], Any]:
    def adapt(value: Any) -> Any:
        return f.get_db_prep_save(value, db)

    return adapt


def _quote(db: BaseDatabaseWrapper, name: str) -> str:
    return db.ops.quote_name(name)


def _chunks(rows: Sequence[Sequence[Any]], width: int, db: BaseDatabaseWrapper) -> Iterable[Any]:
    limit = db.features.max_query_params or _PG_MAX_PARAMS
    size = max(1, limit // max(1, width))
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _params(
    table: Table, rows: Sequence[Sequence[Any]], db: BaseDatabaseWrapper
) -> tuple[str, list[Any]]:
    """``(%s, …), (%s, …)`` for ``rows`` and their adapted values, flat."""
    adapters = table.adapters(db)
    values: list[Any] = []
    for row in rows:
        if len(row) != len(adapters):
            raise ValueError(f"{table.name}: {len(row)} values for {len(adapters)} columns")
        values.extend(adapt(v) for adapt, v in zip(adapters, row, strict=True))
    one = "(" + ", ".join(["%s"] * len(adapters)) + ")"
    return ", ".join([one] * len(rows)), values


def insert(
    table: Table,
    rows: Sequence[Sequence[Any]],
    *,
    conflict: Sequence[str] = (),
    update: Sequence[str] = (),
    newer: str | None = None,
    db: BaseDatabaseWrapper | None = None,
) -> list[Statement]:
    """``INSERT`` ``rows`` (one value per column of ``table``).

    On a conflict (on ``conflict``, or on any unique constraint when empty) the row is
    left as it is, unless ``update`` names columns to set from the new row; with
    ``newer`` (a column) only when the stored value of that column is not greater than
    the new one (a redelivered or older version never moves a row back).
    """
    db = db or connection
    if update and not conflict:
        raise ValueError("an update on conflict needs the conflict columns")
    if newer and not update:
        raise ValueError("`newer` guards an update")
    name = _quote(db, table.name)
    cols = ", ".join(_quote(db, table.column(c)) for c in table.columns)
    target = f"({', '.join(_quote(db, table.column(c)) for c in conflict)})" if conflict else ""
    if update:
        quoted = [_quote(db, table.column(c)) for c in update]
        sets = ", ".join(f"{c} = excluded.{c}" for c in quoted)
        action = f"ON CONFLICT {target} DO UPDATE SET {sets}"
        if newer:
            col = _quote(db, table.column(newer))
            action += f" WHERE {name}.{col} <= excluded.{col}"
    else:
        action = f"ON CONFLICT {target} DO NOTHING".replace("  ", " ")
    out = []
    for chunk in _chunks(rows, len(table.columns), db):
        values, params = _params(table, chunk, db)
        out.append((f"INSERT INTO {name} ({cols}) VALUES {values} {action}", params))
    return out


def update(
    table: Table,
    key: str,
    rows: Sequence[Sequence[Any]],
    *,
    db: BaseDatabaseWrapper | None = None,
) -> list[Statement]:
    """``UPDATE`` the rows of ``table`` whose ``key`` column matches a row's ``key`` value,
    setting every other column of ``table`` from the row. Rows with no match change nothing.
    """
    db = db or connection
    if key not in table.columns:
        raise ValueError(f"{key} is not one of the columns")
    name = _quote(db, table.name)
    alias = [_quote(db, f"c{i}") for i in range(len(table.columns))]
    pg = db.vendor == "postgresql"

    def value(i: int) -> str:
        return f"CAST(v.{alias[i]} AS {table.fields[i].db_type(db)})" if pg else f"v.{alias[i]}"

    k = table.columns.index(key)
    sets = ", ".join(
        f"{_quote(db, table.column(c))} = {value(i)}" for i, c in enumerate(table.columns) if i != k
    )
    out = []
    for chunk in _chunks(rows, len(table.columns), db):
        values, params = _params(table, chunk, db)
        out.append(
            (
                f"WITH v ({', '.join(alias)}) AS (VALUES {values}) "
                f"UPDATE {name} SET {sets} FROM v "
                f"WHERE {name}.{_quote(db, table.column(key))} = {value(k)}",
                params,
            )
        )
    return out


def execute(statements: Iterable[Statement], db: BaseDatabaseWrapper | None = None) -> int:
    """Run ``statements``; return the rows they changed (inserted or updated), as far as
    the driver reports them (Python's sqlite3 reports none for ``WITH … UPDATE``)."""
    db = db or connection
    changed = 0
    with db.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            changed += max(0, cursor.rowcount)
    return changed
