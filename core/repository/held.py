"""Objects held for one executemany INSERT instead of the ORM's unit of work.

A batch of decisions (core/services/batch_decisions.py) adds hundreds of decisions and
credentials in one transaction. Through ``session.add`` each costs the unit of work's
bookkeeping at flush (state tracking, dependency sorting, identity map), more than the rest of
what the batch does for it; held here, they are read off the objects once, at release, and
inserted with one executemany. An object added while held is not in the session: what the
batch reads back comes from the database after release.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, class_mapper
from sqlalchemy.sql.dml import Insert, Update


@functools.cache
def _defaults(cls: type) -> tuple[tuple[str, Any, Callable[[], Any] | None], ...]:
    """(name, default, default factory) of each field of the dataclass ``cls`` that has one."""
    return tuple(
        (f.name, f.default, None if f.default_factory is dataclasses.MISSING else f.default_factory)
        for f in dataclasses.fields(cls)
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    )


def transient(cls: type, values: dict[str, Any]) -> Any:
    """A new (transient) instance of the mapped dataclass ``cls`` with ``values`` as its
    attributes and the dataclass's defaults for the rest, made the way the ORM's loader makes
    loaded ones: no ``__init__``, no attribute events. Building a decision and a credential
    field by field through the instrumentation cost about 40 µs an issuance, a tenth of a
    batched one; this costs 4. The instance is an ordinary one from then on: setting an
    attribute, or adding it to a session, works as for any other."""
    obj = class_mapper(cls).class_manager.new_instance()
    attributes = obj.__dict__
    for name, default, factory in _defaults(cls):
        if name not in values:
            attributes[name] = default if factory is None else factory()
    attributes.update(values)
    return obj


def execute_rows(session: Session, statement: Insert | Update, rows: Sequence[dict[str, Any]]) -> int:
    """Run ``statement`` (an INSERT whose rows are keyed by column, or an UPDATE whose rows are
    keyed by its bind parameters' names) once for each of ``rows``, as
    ``session.execute(statement, rows)`` would, in the session's transaction; returns the
    number of rows matched.

    On SQLite the rows go to the driver's executemany as tuples, each value through its
    parameter type's own bind processor (the same JSON text, the same datetime strings): the
    rows stored are the ones SQLAlchemy would store. Why not SQLAlchemy's executemany:
    building each row's parameters (construct_params, the compiled statement's per-row
    bookkeeping) cost several times what SQLite takes to write the row, for the ten rows of
    every batched issuance. Elsewhere (PostgreSQL) SQLAlchemy's own executemany stays: it
    sends multi-row VALUES, which a driver's executemany would not."""
    if not rows:
        return 0
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "sqlite":
        return session.execute(statement, rows).rowcount
    sql, values_of = _positional(statement, tuple(rows[0]), dialect)
    memo: dict = {}
    return connection.exec_driver_sql(sql, [values_of(row, memo) for row in rows]).rowcount


# bounded: keyed on statement objects, which are built once per table (see _insert_into), but
# a caller that built one per call must not make this grow without end
@functools.lru_cache(maxsize=256)
def _positional(
    statement: Insert | Update, keys: tuple[str, ...], dialect: Dialect
) -> tuple[str, Callable[[dict[str, Any], dict], tuple]]:
    """The SQL of ``statement`` for rows with ``keys`` (``?`` placeholders), and the function
    that turns one row into its parameter tuple. A column an INSERT's rows lack that has a
    Python-side default gets it, as SQLAlchemy's INSERT would give it; any other is left out
    (NULL or the database's default)."""
    defaults = {}
    if isinstance(statement, Insert):
        table = statement.table
        given = [key for key in keys if key in table.c]
        for column in table.columns:
            if column.key not in given and column.default is not None:
                if not column.default.is_scalar:
                    raise ValueError(f"{table.name}.{column.key}: a computed default must be given in the rows")
                defaults[column.key] = column.default.arg
        compiled = statement.compile(dialect=dialect, column_keys=[*given, *defaults])
    else:
        compiled = statement.compile(dialect=dialect)
    order = tuple(compiled.positiontup)
    if len(set(order)) != len(order):
        raise ValueError(f"{statement}: a parameter used twice")
    processors = []
    for i, key in enumerate(order):
        kind = compiled.binds[key].type
        processor = kind.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            # a batch's rows share their times (one clock reading): each is formatted once
            processors.append((i, processor, _is_datetime(kind)))
    from_row = [key for key in order if key not in defaults]
    get = operator.itemgetter(*from_row) if len(from_row) > 1 else (lambda row, k=from_row[0]: (row[k],))
    fixed = sorted((order.index(key), value) for key, value in defaults.items())

    def values_of(row: dict[str, Any], memo: dict) -> tuple:
        values = list(get(row))
        for i, value in fixed:
            values.insert(i, value)
        for i, processor, memoised in processors:
            value = values[i]
            if memoised and value is not None:
                if value not in memo:
                    memo[value] = processor(value)
                values[i] = memo[value]
            else:
                values[i] = processor(value)
        return tuple(values)

    return str(compiled), values_of


def _is_datetime(kind: sa.types.TypeEngine) -> bool:
    return isinstance(kind.impl if isinstance(kind, sa.types.TypeDecorator) else kind, sa.DateTime)


@functools.cache
def _insert_into(table: sa.Table) -> Insert:
    """One INSERT statement per table for every unit of work: :func:`_positional` keeps what it
    compiled per statement object, so a statement made per unit of work would be compiled again
    (and kept) each time."""
    return sa.insert(table)


class HeldInserts:
    """Objects of one mapped class, inserted into ``table`` together."""

    def __init__(self, session: Session, table: sa.Table):
        self._s = session
        self._table = table
        self._insert = _insert_into(table)
        self._held: list[Any] | None = None

    @property
    def holding(self) -> bool:
        return self._held is not None

    def hold(self) -> None:
        self._held = []

    def add(self, obj: Any) -> None:
        self._held.append(obj)

    def release(self) -> None:
        """Insert what was held, its columns read off the objects now (a decision's credential
        id is set after the decision was added)."""
        held, self._held = self._held or [], None
        if held:
            names = [c.key for c in self._table.columns]
            # read off the instance's __dict__: these objects are new, so every attribute is
            # there (a set attribute included), and the instrumented getattr costs 10x more
            rows = [vars(obj) for obj in held]
            execute_rows(self._s, self._insert, [{n: row[n] for n in names} for row in rows])
