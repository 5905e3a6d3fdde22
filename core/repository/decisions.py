"""Decisions, one per decided application."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from govcred.core import models
from govcred.core.orm import decisions
from govcred.core.repository.held import HeldInserts


class DecisionRepository:
    def __init__(self, session: Session):
        self._s = session
        self._held = HeldInserts(session, decisions)

    def hold(self) -> None:
        """Decisions added from now on are inserted together at :meth:`release`."""
        self._held.hold()

    def release(self) -> None:
        self._held.release()

    def add(self, decision: models.Decision) -> None:
        if self._held.holding:
            self._held.add(decision)
        else:
            self._s.add(decision)

    def for_application(self, app_id: str) -> models.Decision | None:
        return self._s.execute(
            sa.select(models.Decision).where(models.Decision.application_id == app_id)
        ).scalar_one_or_none()
