"""Repositories: how aggregates are found and stored. Applicant-facing queries are scoped
in the query itself (``owner_id = :current``), never by checking after loading."""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from govcred.core import models
from govcred.core.exceptions import NotFound
from govcred.core.orm import applications, credentials, encrypt_document

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core.crypto import Secrets


class ApplicationRepository:
    def __init__(self, session: Session, secrets: "Secrets"):
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
        return self._s.execute(
            sa.select(models.Application).where(applications.c.owner_id == owner_id)
            .order_by(applications.c.created_at.desc())
        ).scalars().all()

    def in_progress_for_subject(self, subject_index: str, exclude_id: str | None = None) -> bool:
        stmt = sa.select(applications.c.id).where(
            applications.c.subject_index == subject_index,
            applications.c.state.in_(models.IN_PROGRESS),
        )
        if exclude_id:
            stmt = stmt.where(applications.c.id != exclude_id)
        return self._s.execute(stmt.limit(1)).first() is not None

    def queue(self, states: Sequence[str] = (models.ACCEPTED,)) -> Sequence[models.Application]:
        """The review queue: oldest deadline first."""
        return self._s.execute(
            sa.select(models.Application).where(applications.c.state.in_(states))
            .order_by(applications.c.deadline.asc().nulls_last(), applications.c.created_at.asc())
        ).scalars().all()


class DecisionRepository:
    def __init__(self, session: Session):
        self._s = session

    def add(self, decision: models.Decision) -> None:
        self._s.add(decision)

    def for_application(self, app_id: str) -> models.Decision | None:
        return self._s.execute(
            sa.select(models.Decision).where(models.Decision.application_id == app_id)
        ).scalar_one_or_none()


class CredentialRepository:
    def __init__(self, session: Session):
        self._s = session

    def add(self, credential: models.Credential) -> None:
        self._s.add(credential)

    def get(self, credential_id: str, *, for_update: bool = False) -> models.Credential:
        stmt = sa.select(models.Credential).where(credentials.c.id == credential_id)
        if for_update:
            stmt = stmt.with_for_update()
        cred = self._s.execute(stmt).scalar_one_or_none()
        if cred is None:
            raise NotFound("未找到该证件", code="CREDENTIAL_NOT_FOUND")
        return cred

    def current_for_permit(self, permit_no: str) -> models.Credential | None:
        return self._s.execute(
            sa.select(models.Credential).where(credentials.c.permit_no == permit_no)
            .order_by(credentials.c.version.desc()).limit(1)
        ).scalar_one_or_none()

    def valid_for_subject(self, subject_index: str) -> models.Credential | None:
        return self._s.execute(
            sa.select(models.Credential).where(
                credentials.c.subject_index == subject_index,
                credentials.c.status.in_((models.VALID, models.SUSPENDED)),
            ).order_by(credentials.c.issued_at.desc()).limit(1)
        ).scalar_one_or_none()

    def for_owner(self, owner_id: str) -> Sequence[models.Credential]:
        return self._s.execute(
            sa.select(models.Credential).where(credentials.c.owner_id == owner_id)
            .order_by(credentials.c.issued_at.desc())
        ).scalars().all()


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


class ResidentRepository:
    def __init__(self, session: Session, secrets: "Secrets"):
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
