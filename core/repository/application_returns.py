"""补正 rounds of applications (``application_returns``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from govcred.core.models import new_id
from govcred.core.orm import application_returns


class ApplicationReturnRepository:
    def __init__(self, session: Session):
        self._s = session

    def add(self, application_id: str, items: list[dict[str, Any]], officer_id: str, at: dt.datetime) -> None:
        self._s.execute(
            sa.insert(application_returns).values(
                id=new_id(), application_id=application_id, items=items, returned_by=officer_id, returned_at=at
            )
        )

    def mark_resubmitted(self, application_id: str, by: str, at: dt.datetime) -> None:
        self._s.execute(
            sa.update(application_returns)
            .where(
                application_returns.c.application_id == application_id,
                application_returns.c.resubmitted_at.is_(None),
            )
            .values(resubmitted_at=at, resubmitted_by=by)
        )

    def rounds(self, application_id: str) -> list[dict[str, Any]]:
        """Every round of one application, oldest first."""
        return [
            dict(row)
            for row in self._s.execute(
                sa.select(application_returns)
                .where(application_returns.c.application_id == application_id)
                .order_by(application_returns.c.returned_at)
            ).mappings()
        ]
