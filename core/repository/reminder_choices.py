"""The reminders each permit holder chose."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from govcred.core.orm import permit_reminders


class ReminderChoiceRepository:
    """The reminders each permit holder chose (``permit_reminders``)."""

    def __init__(self, session: Session):
        self._s = session

    def chosen(self, permit_nos: Sequence[str]) -> dict[str, frozenset[str]]:
        """The stored choice of each of ``permit_nos`` that has one."""
        if not permit_nos:
            return {}
        return {
            row.permit_no: frozenset(row.reminders)
            for row in self._s.execute(
                sa.select(permit_reminders.c.permit_no, permit_reminders.c.reminders).where(
                    permit_reminders.c.permit_no.in_(permit_nos)
                )
            )
        }

    def store(self, permit_no: str, chosen: Sequence[str], *, actor: str, now: dt.datetime) -> None:
        exists = self._s.execute(
            sa.select(permit_reminders.c.permit_no).where(permit_reminders.c.permit_no == permit_no)
        ).first()
        values = {"reminders": list(chosen), "updated_at": now, "updated_by": actor}
        if exists is None:
            self._s.execute(sa.insert(permit_reminders).values(permit_no=permit_no, **values))
        else:
            self._s.execute(
                sa.update(permit_reminders).where(permit_reminders.c.permit_no == permit_no).values(**values)
            )
