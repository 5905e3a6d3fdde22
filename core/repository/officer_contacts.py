"""Officers' contact phones (officer_contacts), encrypted at rest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from govcred.core import models
from govcred.core.orm import officer_contacts

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core.crypto import Secrets


def _aad(officer_id: str) -> str:
    return f"officer_contacts|phone|{officer_id}"


class OfficerContactRepository:
    def __init__(self, session: Session, secrets: Secrets):
        self._s = session
        self._cipher = secrets.cipher

    def set_phone(self, officer_id: str, phone: str, at: dt.datetime) -> None:
        blob = self._cipher.encrypt_text(phone, _aad(officer_id))
        self._s.execute(sa.delete(officer_contacts).where(officer_contacts.c.officer_id == officer_id))
        self._s.execute(sa.insert(officer_contacts).values(officer_id=officer_id, phone_enc=blob, updated_at=at))

    def recipients(self, roles: Sequence[str]) -> list[tuple[models.Officer, str]]:
        """Active officers of ``roles`` with a phone on file, and the phone."""
        rows = self._s.execute(
            sa.select(models.Officer, officer_contacts.c.phone_enc)
            .join(officer_contacts, officer_contacts.c.officer_id == models.Officer.id)
            .where(models.Officer.role.in_(list(roles)), models.Officer.active.is_(True))
            .order_by(models.Officer.username)
        ).all()
        return [(officer, self._cipher.decrypt_text(blob, _aad(officer.id))) for officer, blob in rows]
