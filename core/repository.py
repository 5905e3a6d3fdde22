"""Repositories: how aggregates are found and stored, and every query the use cases run.
Applicant-facing queries are scoped in the query itself (``owner_id = :current``), never by
checking after loading."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from govcred.core import models
from govcred.core.exceptions import NotFound
from govcred.core.orm import (
    applications,
    attachments,
    credentials,
    encrypt_document,
    lifecycle_sweeps,
    permit_reminders,
    signing_keys,
    status_lists,
)

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core.accounts.officers import Principal
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

    def by_ids(self, ids: Iterable[str]) -> dict[str, models.Application]:
        wanted = list(set(ids))
        found = self._s.execute(
            sa.select(models.Application).where(applications.c.id.in_(wanted))
        ).scalars().all()
        return {a.id: a for a in found}

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

    def current_version(self, permit_no: str, *, owner_id: str | None = None) -> models.Credential | None:
        """A permit's newest version, locked; only the owner's when ``owner_id`` is given."""
        stmt = (sa.select(models.Credential).where(credentials.c.permit_no == permit_no)
                .order_by(credentials.c.version.desc()).limit(1).with_for_update())
        if owner_id is not None:
            stmt = stmt.where(credentials.c.owner_id == owner_id)
        return self._s.execute(stmt).scalar_one_or_none()

    def versions(self, permit_no: str, *, owner_id: str | None = None) -> Sequence[models.Credential]:
        """Every version of a permit, newest first; only the owner's when ``owner_id`` is given."""
        stmt = sa.select(models.Credential).where(credentials.c.permit_no == permit_no)
        if owner_id is not None:
            stmt = stmt.where(credentials.c.owner_id == owner_id)
        return self._s.execute(stmt.order_by(credentials.c.version.desc())).scalars().all()

    def live_superseded(self, current: models.Credential, now: dt.datetime) -> Sequence[models.Credential]:
        """The permit's other superseded versions whose tokens are within their ``exp``, locked."""
        return self._s.execute(
            sa.select(models.Credential).where(
                credentials.c.permit_no == current.permit_no, credentials.c.id != current.id,
                credentials.c.status == models.SUPERSEDED, credentials.c.expires_at > now,
            ).with_for_update()
        ).scalars().all()

    def permit_no_taken(self, permit_no: str) -> bool:
        return self._s.execute(
            sa.select(credentials.c.id).where(credentials.c.permit_no == permit_no).limit(1)
        ).first() is not None

    def last_expiry_signed_by(self, kid: str) -> dt.datetime | None:
        last = self._s.execute(
            sa.select(sa.func.max(credentials.c.expires_at)).where(credentials.c.kid == kid)).scalar()
        if last is None:
            return None
        return last if last.tzinfo else last.replace(tzinfo=dt.timezone.utc)

    def lapsed(self, now: dt.datetime, *, after: tuple[dt.datetime, str] | None,
               limit: int) -> Sequence[models.Credential]:
        """Newest versions still ``valid`` whose ``exp`` has passed, by ``(expires_at, id)`` past the
        cursor ``after``, locked."""
        c = credentials.c
        stmt = sa.select(models.Credential).where(c.status == models.VALID, c.expires_at <= now, _no_newer_version())
        if after is not None:
            stmt = stmt.where(sa.tuple_(c.expires_at, c.id) > sa.tuple_(*after))
        return self._s.execute(stmt.order_by(c.expires_at, c.id).limit(limit).with_for_update()).scalars().all()

    def reminder_candidates(self, now: dt.datetime, *, lookahead: dt.timedelta, suspended_reason: str,
                            grace: dt.timedelta, after: str | None, limit: int) -> Sequence[models.Credential]:
        """Newest versions that may be due a reminder, by id past ``after``: valid ones lapsing within
        ``lookahead``, and ones suspended (for ``suspended_reason``) a day to a day plus ``grace`` ago."""
        c = credentials.c
        upcoming = sa.and_(c.status == models.VALID, c.expires_at > now, c.expires_at <= now + lookahead)
        just_suspended = sa.and_(
            c.status == models.SUSPENDED, c.status_reason == suspended_reason,
            c.status_changed_at <= now - dt.timedelta(days=1),
            c.status_changed_at > now - dt.timedelta(days=1) - grace,
        )
        stmt = sa.select(models.Credential).where(sa.or_(upcoming, just_suspended), _no_newer_version())
        if after is not None:
            stmt = stmt.where(c.id > after)
        return self._s.execute(stmt.order_by(c.id).limit(limit)).scalars().all()

    def lapsing_within(self, now: dt.datetime, lookahead: dt.timedelta, *, limit: int) -> Sequence[models.Credential]:
        """Valid versions lapsing within ``lookahead``, soonest first."""
        c = credentials.c
        where = sa.and_(c.status == models.VALID, c.expires_at > now, c.expires_at <= now + lookahead)
        return self._s.execute(
            sa.select(models.Credential).where(where).order_by(c.expires_at.asc(), c.id).limit(limit)
        ).scalars().all()

    def suspended_for(self, reason: str, *, limit: int) -> Sequence[models.Credential]:
        """Versions suspended for ``reason``, longest suspended first."""
        c = credentials.c
        where = sa.and_(c.status == models.SUSPENDED, c.status_reason == reason)
        return self._s.execute(
            sa.select(models.Credential).where(where).order_by(c.status_changed_at.asc(), c.id).limit(limit)
        ).scalars().all()

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


def _no_newer_version():
    newer = aliased(credentials)
    return ~sa.exists().where(newer.c.permit_no == credentials.c.permit_no, newer.c.version > credentials.c.version)


# Prepared once: the allocator probes these up to 64 times for one credential.
_INDEX_TAKEN = sa.select(credentials.c.id).where(
    credentials.c.status_list_id == sa.bindparam("list_id"), credentials.c.status_idx == sa.bindparam("idx"))
_COUNT_ALLOCATION = sa.update(status_lists).where(status_lists.c.id == sa.bindparam("list_id")).values(
    allocated=status_lists.c.allocated + 1)


class StatusListRepository:
    def __init__(self, session: Session):
        self._s = session

    def open_list(self, *, size: int, bits: int, now: dt.datetime) -> tuple[str, int, int]:
        """The list new credentials go to, locked for this transaction (a new one of ``size``
        when none has room): ``(id, size, allocated)``."""
        row = self._s.execute(
            sa.select(status_lists.c.id, status_lists.c.size, status_lists.c.allocated)
            .where(status_lists.c.full.is_(False)).order_by(status_lists.c.created_at).limit(1).with_for_update()
        ).first()
        if row is not None:
            return row.id, row.size, row.allocated
        count = self._s.execute(sa.select(sa.func.count()).select_from(status_lists)).scalar() or 0
        list_id = str(count + 1)
        self._s.execute(sa.insert(status_lists).values(id=list_id, bits=bits, size=size, created_at=now,
                                                      updated_at=now, revision=0, full=False, allocated=0))
        return list_id, size, 0

    def mark_full(self, list_id: str) -> None:
        self._s.execute(sa.update(status_lists).where(status_lists.c.id == list_id).values(full=True))

    def index_taken(self, list_id: str, idx: int) -> bool:
        return self._s.execute(_INDEX_TAKEN, {"list_id": list_id, "idx": idx}).first() is not None

    def count_allocation(self, list_id: str) -> None:
        """One more index of the list is taken (``allocated`` saves a COUNT over credentials)."""
        self._s.execute(_COUNT_ALLOCATION, {"list_id": list_id})

    def revision(self, list_id: str) -> int | None:
        return self._s.execute(sa.select(status_lists.c.revision).where(status_lists.c.id == list_id)).scalar()

    def size_and_revision(self, list_id: str) -> tuple[int, int] | None:
        row = self._s.execute(
            sa.select(status_lists.c.size, status_lists.c.revision).where(status_lists.c.id == list_id)
        ).first()
        return None if row is None else (row.size, row.revision)

    def indices_with_status(self, list_id: str, statuses: Iterable[str]) -> Sequence[tuple[int, str]]:
        """``(status_idx, status)`` of the list's credentials whose status is one of ``statuses``."""
        return self._s.execute(
            sa.select(credentials.c.status_idx, credentials.c.status)
            .where(credentials.c.status_list_id == list_id, credentials.c.status.in_(list(statuses)))
        ).tuples().all()

    def bump_revision(self, list_ids: Iterable[str], now: dt.datetime) -> None:
        """The lists changed: verifiers holding an older revision refetch them."""
        self._s.execute(sa.update(status_lists).where(status_lists.c.id.in_(set(list_ids)))
                        .values(revision=status_lists.c.revision + 1, updated_at=now))


class SigningKeyRepository:
    def __init__(self, session: Session):
        self._s = session

    def all(self) -> Sequence[Mapping[str, Any]]:
        return self._s.execute(sa.select(signing_keys).order_by(signing_keys.c.created_at)).mappings().all()

    def active_kids(self) -> Sequence[str]:
        return self._s.execute(sa.select(signing_keys.c.kid).where(signing_keys.c.retired_at.is_(None))).scalars().all()

    def newest_active(self) -> Mapping[str, Any] | None:
        return self._s.execute(
            sa.select(signing_keys).where(signing_keys.c.retired_at.is_(None))
            .order_by(signing_keys.c.created_at.desc()).limit(1)
        ).mappings().first()

    def published(self, now: dt.datetime) -> list[dict]:
        """Public JWKs of active keys and of retired ones still needed to verify live credentials."""
        return list(self._s.execute(
            sa.select(signing_keys.c.public_jwk).where(sa.or_(
                signing_keys.c.retired_at.is_(None), signing_keys.c.verify_until >= now,
            )).order_by(signing_keys.c.created_at)
        ).scalars().all())

    def add(self, **row: Any) -> None:
        self._s.execute(sa.insert(signing_keys).values(**row))

    def retire(self, kid: str, now: dt.datetime, verify_until: dt.datetime) -> None:
        self._s.execute(sa.update(signing_keys).where(signing_keys.c.kid == kid).values(
            retired_at=now, verify_until=verify_until))

    def extend_verify_until(self, kid: str, expires_at: dt.datetime) -> None:
        """A credential was signed with a (possibly retired) key: keep it published long enough."""
        self._s.execute(sa.update(signing_keys).where(
            signing_keys.c.kid == kid, signing_keys.c.retired_at.is_not(None),
            sa.or_(signing_keys.c.verify_until.is_(None), signing_keys.c.verify_until < expires_at),
        ).values(verify_until=expires_at))


class SweepRunRepository:
    """The lifecycle sweep's checkpoint rows."""

    def __init__(self, session: Session):
        self._s = session

    def start(self, run_id: str, *, as_of: dt.datetime, started_at: dt.datetime, **values: Any) -> None:
        self._s.execute(sa.insert(lifecycle_sweeps).values(id=run_id, as_of=as_of, started_at=started_at, **values))

    def update(self, run_id: str, **values: Any) -> None:
        self._s.execute(sa.update(lifecycle_sweeps).where(lifecycle_sweeps.c.id == run_id).values(**values))


class ReminderChoiceRepository:
    """The reminders each permit holder chose (``permit_reminders``)."""

    def __init__(self, session: Session):
        self._s = session

    def chosen(self, permit_nos: Sequence[str]) -> dict[str, frozenset[str]]:
        """The stored choice of each of ``permit_nos`` that has one."""
        if not permit_nos:
            return {}
        return {row.permit_no: frozenset(row.reminders) for row in self._s.execute(
            sa.select(permit_reminders.c.permit_no, permit_reminders.c.reminders)
            .where(permit_reminders.c.permit_no.in_(permit_nos))
        )}

    def store(self, permit_no: str, chosen: Sequence[str], *, actor: str, now: dt.datetime) -> None:
        exists = self._s.execute(
            sa.select(permit_reminders.c.permit_no).where(permit_reminders.c.permit_no == permit_no)
        ).first()
        values = {"reminders": list(chosen), "updated_at": now, "updated_by": actor}
        if exists is None:
            self._s.execute(sa.insert(permit_reminders).values(permit_no=permit_no, **values))
        else:
            self._s.execute(sa.update(permit_reminders).where(permit_reminders.c.permit_no == permit_no)
                            .values(**values))


def _uploaded_by(principal: "Principal"):
    """A resident's own uploads, or those a clerk entered."""
    if principal.kind == "resident":
        return attachments.c.owner_id == principal.id
    return attachments.c.uploaded_by == principal.id


class AttachmentRepository:
    """Rows of uploaded proofs; the files themselves (encrypted) live in the uploads directory."""

    def __init__(self, session: Session):
        self._s = session

    def count_uploaded_by(self, principal: "Principal") -> int:
        return self._s.execute(
            sa.select(sa.func.count()).select_from(attachments).where(_uploaded_by(principal))
        ).scalar() or 0

    def add(self, **row: Any) -> None:
        self._s.execute(sa.insert(attachments).values(**row))

    def get(self, attachment_id: str, *, owner_id: str | None = None) -> Mapping[str, Any] | None:
        """One row; only the resident ``owner_id``'s when given."""
        stmt = sa.select(attachments).where(attachments.c.id == attachment_id)
        if owner_id is not None:
            stmt = stmt.where(attachments.c.owner_id == owner_id)
        return self._s.execute(stmt).mappings().first()

    def unlinked_of(self, ids: Sequence[str], principal: "Principal") -> set[str]:
        """Those of ``ids`` that ``principal`` uploaded and no application uses yet."""
        rows = self._s.execute(
            sa.select(attachments.c.id, attachments.c.application_id)
            .where(attachments.c.id.in_(ids), _uploaded_by(principal))
        ).all()
        return {row.id for row in rows if row.application_id is None}

    def link(self, ids: Sequence[str], application_id: str) -> int:
        """Attach the unlinked ones of ``ids`` to the application; how many were linked."""
        return self._s.execute(
            sa.update(attachments).where(attachments.c.id.in_(ids), attachments.c.application_id.is_(None))
            .values(application_id=application_id)
        ).rowcount

    def for_application(self, application_id: str) -> Sequence[Mapping[str, Any]]:
        return self._s.execute(
            sa.select(attachments).where(attachments.c.application_id == application_id)
            .order_by(attachments.c.created_at)
        ).mappings().all()


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
