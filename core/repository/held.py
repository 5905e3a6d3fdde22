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
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, class_mapper


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


class HeldInserts:
    """Objects of one mapped class, inserted into ``table`` together."""

    def __init__(self, session: Session, table: sa.Table):
        self._s = session
        self._table = table
        self._insert = sa.insert(table)
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
            self._s.execute(self._insert, [{n: vars(obj)[n] for n in names} for obj in held])
