"""Application forms in progress, one per resident and schema (``form_drafts``)."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from govcred.core.models import new_id
from govcred.core.orm import form_drafts

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core.crypto import Secrets


def _aad(row_id: str) -> bytes:
    return f"form_drafts|values|{row_id}".encode()


class FormDraftRepository:
    """The form values a resident typed (encrypted at rest) and the step they were at."""

    def __init__(self, session: Session, secrets: Secrets):
        self._s = session
        self._cipher = secrets.cipher

    def get(self, owner_id: str, schema: str) -> tuple[str, dict[str, Any]] | None:
        """``(step, state)`` of the resident's draft, or None."""
        row = self._s.execute(
            sa.select(form_drafts.c.id, form_drafts.c.step, form_drafts.c.values_enc).where(
                form_drafts.c.owner_id == owner_id, form_drafts.c.schema == schema
            )
        ).first()
        if row is None:
            return None
        return row.step, json.loads(self._cipher.decrypt(row.values_enc, _aad(row.id)))

    def store(self, owner_id: str, schema: str, step: str, state: dict[str, Any], now: dt.datetime) -> None:
        found = self._s.execute(
            sa.select(form_drafts.c.id).where(form_drafts.c.owner_id == owner_id, form_drafts.c.schema == schema)
        ).first()
        row_id = found.id if found else new_id()
        blob = self._cipher.encrypt(json.dumps(state, ensure_ascii=False, separators=(",", ":")).encode(), _aad(row_id))
        values = {"step": step, "values_enc": blob, "updated_at": now}
        if found is None:
            self._s.execute(sa.insert(form_drafts).values(id=row_id, owner_id=owner_id, schema=schema, **values))
        else:
            self._s.execute(sa.update(form_drafts).where(form_drafts.c.id == row_id).values(**values))

    def discard(self, owner_id: str, schema: str) -> None:
        self._s.execute(
            sa.delete(form_drafts).where(form_drafts.c.owner_id == owner_id, form_drafts.c.schema == schema)
        )
