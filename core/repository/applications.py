"""Applications: found by id, by owner, by subject; the review queue."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from govcred.core import models
from govcred.core.exceptions import NotFound
from govcred.core.orm import applications, encrypt_document

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core.crypto import Secrets


class ApplicationRepository:
    def __init__(self, session: Session, secrets: Secrets):
        self._s = session
        self._secrets = secrets

    def add(self, app: models.Application) -> None:
        self._s.add(app)

    def document_changed(self, app: models.Application) -> None:
        """Re-encrypt a draft's document after it was edited."""
        encrypt_document(self._secrets.cipher, app)

    def get(self, app_id: str, *, for_update: bool = False) -> models.Application:
        stmt = sa.select(models.Application).where(applications.c.id == app_id)
        if for_update:
            stmt = stmt.with_for_update()
        app = self._s.execute(stmt).scalar_one_or_none()
        if app is None:
            raise NotFound("未找到该申请", code="APPLICATION_NOT_FOUND")
        return app

    def get_for_owner(self, app_id: str, owner_id: str) -> models.Application:
        app = self._s.execute(
            sa.select(models.Application).where(applications.c.id == app_id, applications.c.owner_id == owner_id)
        ).scalar_one_or_none()
        if app is None:
            raise NotFound("未找到该申请", code="APPLICATION_NOT_FOUND")
        return app

    def list_for_owner(self, owner_id: str) -> Sequence[models.Application]:
        return (
            self._s.execute(
                sa.select(models.Application)
                .where(applications.c.owner_id == owner_id)
                .order_by(applications.c.created_at.desc())
            )
            .scalars()
            .all()
        )

    def in_progress_for_subject(self, subject_index: str, exclude_id: str | None = None) -> bool:
        stmt = sa.select(applications.c.id).where(
            applications.c.subject_index == subject_index,
            applications.c.state.in_(models.IN_PROGRESS),
        )
        if exclude_id:
            stmt = stmt.where(applications.c.id != exclude_id)
        return self._s.execute(stmt.limit(1)).first() is not None

    def by_ids(self, ids: Iterable[str]) -> dict[str, models.Application]:
        wanted = list(set(ids))
        found = self._s.execute(sa.select(models.Application).where(applications.c.id.in_(wanted))).scalars().all()
        return {a.id: a for a in found}

    def queue(self, states: Sequence[str] = (models.ACCEPTED,)) -> Sequence[models.Application]:
        """The review queue: oldest deadline first."""
        return (
            self._s.execute(
                sa.select(models.Application)
                .where(applications.c.state.in_(states))
                .order_by(applications.c.deadline.asc().nulls_last(), applications.c.created_at.asc())
            )
            .scalars()
            .all()
        )
