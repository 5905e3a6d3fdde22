"""The lifecycle sweep's checkpoint rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from govcred.core.orm import lifecycle_sweeps


class SweepRunRepository:
    """The lifecycle sweep's checkpoint rows."""

    def __init__(self, session: Session):
        self._s = session

    def start(self, run_id: str, *, as_of: dt.datetime, started_at: dt.datetime, **values: Any) -> None:
        self._s.execute(sa.insert(lifecycle_sweeps).values(id=run_id, as_of=as_of, started_at=started_at, **values))

    def update(self, run_id: str, **values: Any) -> None:
        self._s.execute(sa.update(lifecycle_sweeps).where(lifecycle_sweeps.c.id == run_id).values(**values))
