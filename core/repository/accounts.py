"""Officers and residents."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from govcred.core import models

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core.crypto import Secrets


class OfficerRepository:
    def __init__(self, session: Session):
        self._s = session

    def add(self, officer: models.Officer) -> None:
        self._s.add(officer)

    def by_username(self, username: str) -> models.Officer | None:
        return self._s.execute(
            sa.select(models.Officer).where(models.Officer.username == username)
        ).scalar_one_or_none()

    def get(self, officer_id: str) -> models.Officer | None:
        return self._s.get(models.Officer, officer_id)

    def display_names(self, officer_ids: Iterable[str]) -> dict[str, str]:
        """``{id: display name}`` of the officers named (reports show who decided)."""
        ids = list(officer_ids)
        if not ids:
            return {}
        rows = self._s.execute(
            sa.select(models.Officer.id, models.Officer.display_name).where(models.Officer.id.in_(ids))
        )
        return dict(rows.all())


class ResidentRepository:
    def __init__(self, session: Session, secrets: Secrets):
        self._s = session
        self._secrets = secrets

    def by_phone(self, phone: str) -> models.Resident | None:
        index = self._secrets.index(phone, "phone")
        return self._s.execute(
            sa.select(models.Resident).where(models.Resident.phone_index == index)
        ).scalar_one_or_none()

    def get_or_create(self, phone: str, now) -> models.Resident:
        found = self.by_phone(phone)
        if found is not None:
            return found
        resident = models.Resident(phone_index=self._secrets.index(phone, "phone"), phone_enc=b"")
        resident.phone_enc = self._secrets.cipher.encrypt_text(phone, f"residents|phone|{resident.id}")
        resident.created_at = now
        self._s.add(resident)
        return resident

    def phone_of(self, resident: models.Resident) -> str:
        return self._secrets.cipher.decrypt_text(resident.phone_enc, f"residents|phone|{resident.id}")
