"""Credentials: permits and their versions, and the queries the lifecycle sweep and reminders run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from govcred.core import models
from govcred.core.exceptions import NotFound
from govcred.core.orm import credentials
from govcred.core.repository.held import HeldInserts


class CredentialRepository:
    def __init__(self, session: Session):
        self._s = session
        self._held = HeldInserts(session, credentials)

    def hold(self) -> None:
        """Credentials added from now on are inserted together at :meth:`release`."""
        self._held.hold()

    def release(self) -> None:
        self._held.release()

    def add(self, credential: models.Credential) -> None:
        if self._held.holding:
            self._held.add(credential)
        else:
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
        stmt = (
            sa.select(models.Credential)
            .where(credentials.c.permit_no == permit_no)
            .order_by(credentials.c.version.desc())
            .limit(1)
            .with_for_update()
        )
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
        return (
            self._s.execute(
                sa.select(models.Credential)
                .where(
                    credentials.c.permit_no == current.permit_no,
                    credentials.c.id != current.id,
                    credentials.c.status == models.SUPERSEDED,
                    credentials.c.expires_at > now,
                )
                .with_for_update()
            )
            .scalars()
            .all()
        )

    def permit_nos_taken(self, numbers: list[str]) -> set[str]:
        """Which of ``numbers`` a credential already has (one query for a whole block)."""
        return set(
            self._s.execute(sa.select(credentials.c.permit_no).where(credentials.c.permit_no.in_(numbers))).scalars()
        )

    def count_live_signed_by(self, kid: str, now: dt.datetime) -> int:
        """Credentials under ``kid`` that are valid or suspended and within their ``exp``: those
        whose holders lose a usable permit when the key is revoked."""
        return self._s.execute(
            sa.select(sa.func.count())
            .select_from(credentials)
            .where(
                credentials.c.kid == kid,
                credentials.c.status.in_((models.VALID, models.SUSPENDED)),
                credentials.c.expires_at > now,
            )
        ).scalar_one()

    def live_newest_signed_by(
        self, kid: str, now: dt.datetime, *, after: str | None, limit: int
    ) -> Sequence[models.Credential]:
        """The permits in use whose newest version ``kid`` signed (valid or suspended, within
        their ``exp``: what :meth:`count_live_signed_by` counts), by id past ``after``, locked."""
        c = credentials.c
        stmt = sa.select(models.Credential).where(
            c.kid == kid,
            c.status.in_((models.VALID, models.SUSPENDED)),
            c.expires_at > now,
            _no_newer_version(),
        )
        if after is not None:
            stmt = stmt.where(c.id > after)
        return self._s.execute(stmt.order_by(c.id).limit(limit).with_for_update()).scalars().all()

    def last_expiry_signed_by(self, kid: str) -> dt.datetime | None:
        last = self._s.execute(
            sa.select(sa.func.max(credentials.c.expires_at)).where(credentials.c.kid == kid)
        ).scalar()
        if last is None:
            return None
        return last if last.tzinfo else last.replace(tzinfo=dt.UTC)

    def lapsed(
        self, now: dt.datetime, *, after: tuple[dt.datetime, str] | None, limit: int
    ) -> Sequence[models.Credential]:
        """Newest versions still ``valid`` whose ``exp`` has passed, by ``(expires_at, id)`` past the
        cursor ``after``, locked."""
        c = credentials.c
        stmt = sa.select(models.Credential).where(c.status == models.VALID, c.expires_at <= now, _no_newer_version())
        if after is not None:
            stmt = stmt.where(sa.tuple_(c.expires_at, c.id) > sa.tuple_(*after))
        return self._s.execute(stmt.order_by(c.expires_at, c.id).limit(limit).with_for_update()).scalars().all()

    def reminder_candidates(
        self,
        now: dt.datetime,
        *,
        lookahead: dt.timedelta,
        suspended_reason: str,
        grace: dt.timedelta,
        after: str | None,
        limit: int,
    ) -> Sequence[models.Credential]:
        """Newest versions that may be due a reminder, by id past ``after``: valid ones lapsing within
        ``lookahead``, and ones suspended (for ``suspended_reason``) a day to a day plus ``grace`` ago."""
        c = credentials.c
        upcoming = sa.and_(c.status == models.VALID, c.expires_at > now, c.expires_at <= now + lookahead)
        just_suspended = sa.and_(
            c.status == models.SUSPENDED,
            c.status_reason == suspended_reason,
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
        return (
            self._s.execute(sa.select(models.Credential).where(where).order_by(c.expires_at.asc(), c.id).limit(limit))
            .scalars()
            .all()
        )

    def suspended_for(self, reason: str, *, limit: int) -> Sequence[models.Credential]:
        """Versions suspended for ``reason``, longest suspended first."""
        c = credentials.c
        where = sa.and_(c.status == models.SUSPENDED, c.status_reason == reason)
        return (
            self._s.execute(
                sa.select(models.Credential).where(where).order_by(c.status_changed_at.asc(), c.id).limit(limit)
            )
            .scalars()
            .all()
        )

    def subjects_holding(self, subject_indexes: Iterable[str]) -> set[str]:
        """Those of ``subject_indexes`` that hold a valid or suspended credential (one query
        for a batch of decisions)."""
        c = credentials.c
        return set(
            self._s.execute(
                sa.select(c.subject_index)
                .where(c.subject_index.in_(list(subject_indexes)), c.status.in_((models.VALID, models.SUSPENDED)))
                .distinct()
            ).scalars()
        )

    def for_owner(self, owner_id: str) -> Sequence[models.Credential]:
        return (
            self._s.execute(
                sa.select(models.Credential)
                .where(credentials.c.owner_id == owner_id)
                .order_by(credentials.c.issued_at.desc())
            )
            .scalars()
            .all()
        )


def _no_newer_version():
    newer = aliased(credentials)
    return ~sa.exists().where(newer.c.permit_no == credentials.c.permit_no, newer.c.version > credentials.c.version)
