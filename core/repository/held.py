"""Objects held for one executemany INSERT instead of the ORM's unit of work.

A batch of decisions (core/services/batch_decisions.py) adds hundreds of decisions and
credentials in one transaction. Through ``session.add`` each costs the unit of work's
bookkeeping at flush (state tracking, dependency sorting, identity map), more than the rest of
what the batch does for it; held here, they are read off the objects once, at release, and
inserted with one executemany. An object added while held is not in the session: what the
batch reads back comes from the database after release.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session


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
            self._s.execute(self._insert, [{n: getattr(obj, n) for n in names} for obj in held])
