"""Status lists: the open list an index is allocated in, and what a signed list is built from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from govcred.core.orm import credentials, status_lists


class StatusListRepository:
    def __init__(self, session: Session):
        self._s = session

    def open_list(self, *, size: int, bits: int, now: dt.datetime) -> tuple[str, int, int]:
        """The list new credentials go to, locked for this transaction (a new one of ``size``
        when none has room): ``(id, size, allocated)``. The allocator calls it once per block
        of indices, in a transaction of its own on PostgreSQL (core/allocation.py)."""
        row = self._s.execute(
            sa.select(status_lists.c.id, status_lists.c.size, status_lists.c.allocated)
            .where(status_lists.c.full.is_(False))
            .order_by(status_lists.c.created_at)
            .limit(1)
            .with_for_update()
        ).first()
        if row is not None:
            return row.id, row.size, row.allocated
        count = self._s.execute(sa.select(sa.func.count()).select_from(status_lists)).scalar() or 0
        list_id = str(count + 1)
        self._s.execute(
            sa.insert(status_lists).values(
                id=list_id, bits=bits, size=size, created_at=now, updated_at=now, revision=0, full=False, allocated=0
            )
        )
        return list_id, size, 0

    def mark_full(self, list_id: str) -> None:
        self._s.execute(sa.update(status_lists).where(status_lists.c.id == list_id).values(full=True))

    def count_allocation(self, list_id: str, n: int = 1) -> None:
        """``n`` more indices of the list are reserved (``allocated`` saves a COUNT over credentials)."""
        self._s.execute(
            sa.update(status_lists).where(status_lists.c.id == list_id).values(allocated=status_lists.c.allocated + n)
        )

    def revision(self, list_id: str) -> int | None:
        return self._s.execute(sa.select(status_lists.c.revision).where(status_lists.c.id == list_id)).scalar()

    def size_and_revision(self, list_id: str) -> tuple[int, int] | None:
        row = self._s.execute(
            sa.select(status_lists.c.size, status_lists.c.revision).where(status_lists.c.id == list_id)
        ).first()
        return None if row is None else (row.size, row.revision)

    def indices_with_status(self, list_id: str, statuses: Iterable[str]) -> Sequence[Any]:
        """``(status_idx, status)`` of the list's credentials whose status is one of ``statuses``."""
        return self._s.execute(
            sa.select(credentials.c.status_idx, credentials.c.status).where(
                credentials.c.status_list_id == list_id, credentials.c.status.in_(list(statuses))
            )
        ).all()

    def bump_revision(self, list_ids: Iterable[str], now: dt.datetime) -> None:
        """The lists changed: verifiers holding an older revision refetch them."""
        self._s.execute(
            sa.update(status_lists)
            .where(status_lists.c.id.in_(set(list_ids)))
            .values(revision=status_lists.c.revision + 1, updated_at=now)
        )
