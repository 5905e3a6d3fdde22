"""Reserved blocks of numbers (core/allocation.py): which blocks of which space are taken."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from govcred.core.orm import reserved_blocks


class ReservedBlockRepository:
    def __init__(self, session: Session):
        self._s = session

    def reserve(self, space: str, blocks: int, now: dt.datetime, rng, tries: int) -> int | None:
        """Take a random free block number in ``[0, blocks)`` of ``space``; None when ``tries``
        random draws all found taken blocks. A taken block is an INSERT that does nothing,
        so no try aborts the transaction."""
        dialect = sqlite if self._s.get_bind().dialect.name == "sqlite" else postgresql
        for _ in range(tries):
            number = rng.randrange(blocks)
            stmt = (
                dialect.insert(reserved_blocks)
                .values(space=space, block=number, reserved_at=now)
                .on_conflict_do_nothing(index_elements=["space", "block"])
                .returning(reserved_blocks.c.block)  # a row back: ours (rowcount is not reliable here)
            )
            if self._s.execute(stmt).first() is not None:
                return number
        return None

    def wait_for_locks_at_most(self, seconds: int) -> None:
        """PostgreSQL: in this transaction, give up on a row lock after ``seconds``."""
        self._s.execute(sa.text(f"SET LOCAL lock_timeout = '{int(seconds)}s'"))

    def count(self, space: str) -> int:
        return self._s.execute(
            sa.select(sa.func.count()).select_from(reserved_blocks).where(reserved_blocks.c.space == space)
        ).scalar()
