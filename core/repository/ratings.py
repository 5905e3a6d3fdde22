"""Service ratings (好差评): one per decided application, its comment encrypted at rest."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govcred.core.exceptions import Conflict
from govcred.core.orm import service_ratings

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core.crypto import Secrets


@dataclass(frozen=True)
class Rating:
    application_id: str
    score: int
    comment: str
    created_at: dt.datetime


def _aad(app_id: str) -> str:
    return f"service_ratings|comment|{app_id}"


class RatingRepository:
    def __init__(self, session: Session, secrets: Secrets):
        self._s = session
        self._cipher = secrets.cipher

    def add(self, app_id: str, score: int, comment: str, channel: str, at: dt.datetime) -> None:
        """Store the rating; a second one for the same application is a conflict."""
        values = {
            "application_id": app_id,
            "score": score,
            "comment_enc": self._cipher.encrypt_text(comment, _aad(app_id)) if comment else None,
            "channel": channel,
            "created_at": at,
        }
        try:
            with self._s.begin_nested():
                self._s.execute(sa.insert(service_ratings).values(**values))
        except IntegrityError:
            raise Conflict("该申请已评价过", code="ALREADY_RATED") from None

    def for_application(self, app_id: str) -> Rating | None:
        row = self._s.execute(sa.select(service_ratings).where(service_ratings.c.application_id == app_id)).first()
        if row is None:
            return None
        comment = self._cipher.decrypt_text(row.comment_enc, _aad(app_id)) if row.comment_enc else ""
        return Rating(row.application_id, row.score, comment, row.created_at)

    def recent(self, limit: int = 50) -> list[Rating]:
        """The latest ratings, newest first (administrators read them)."""
        rows = self._s.execute(
            sa.select(service_ratings).order_by(service_ratings.c.created_at.desc()).limit(limit)
        ).all()
        return [
            Rating(
                r.application_id,
                r.score,
                self._cipher.decrypt_text(r.comment_enc, _aad(r.application_id)) if r.comment_enc else "",
                r.created_at,
            )
            for r in rows
        ]
