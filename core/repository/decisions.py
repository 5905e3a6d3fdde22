"""Decisions, one per decided application."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from govcred.core import models


class DecisionRepository:
    def __init__(self, session: Session):
        self._s = session

    def add(self, decision: models.Decision) -> None:
        self._s.add(decision)

    def for_application(self, app_id: str) -> models.Decision | None:
        return self._s.execute(
            sa.select(models.Decision).where(models.Decision.application_id == app_id)
        ).scalar_one_or_none()
