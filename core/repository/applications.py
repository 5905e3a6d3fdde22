"""Applications: found by id, by owner, by subject; the review queue."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from govcred.core import models
from govcred.core.exceptions import NotFound
from govcred.core.orm import applications, credentials, encrypt_document
from govcred.core.repository.held import execute_rows

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core.crypto import Secrets


def _matches(column: str, value: str) -> sa.ColumnElement[bool]:
    c = applications.c
    if column == "permit_no":
        versions = sa.select(credentials.c.application_id).where(credentials.c.permit_no == value)
        return sa.or_(c.permit_no == value, c.id.in_(versions))
    if column not in ("subject_index", "phone_index", "reference"):
        raise ValueError(f"not a search column: {column}")
    return c[column] == value


#: What a decision changes on its application (``Application.decide`` and the permit number).
DECISION_COLUMNS = ("state", "decided_at", "permit_no")
_ONLY_DECIDED = frozenset(DECISION_COLUMNS)
#: The version check the ORM makes (``version_id_col``), for many applications in one executemany.
_WRITE_DECIDED = (
    sa.update(applications)
    .where(applications.c.id == sa.bindparam("b_id"), applications.c.version == sa.bindparam("b_version"))
    .values({**{name: sa.bindparam(f"b_{name}") for name in DECISION_COLUMNS}, "version": sa.bindparam("b_next")})
)


@functools.cache
def _get(for_update: bool) -> sa.Select:
    """The statement of :meth:`ApplicationRepository.get`, built once (on first use: the class
    is mapped after this module is imported)."""
    stmt = sa.select(models.Application).where(applications.c.id == sa.bindparam("app_id"))
    return stmt.with_for_update() if for_update else stmt


_SUBJECT = sa.bindparam("subject")
_ALREADY_HOLDS = sa.select(
    sa.or_(
        sa.exists().where(
            credentials.c.subject_index == _SUBJECT,
            credentials.c.status.in_((models.VALID, models.SUSPENDED)),
        ),
        sa.exists().where(
            applications.c.subject_index == _SUBJECT,
            applications.c.state.in_(models.IN_PROGRESS),
            applications.c.id != sa.bindparam("exclude"),
        ),
    )
)


class ApplicationRepository:
    def __init__(self, session: Session, secrets: Secrets):
        self._s = session
        self._secrets = secrets
        #: applications decided while held (:meth:`hold`), by id, written by :meth:`release`
        self._held: dict[str, models.Application] | None = None

    def hold(self) -> None:
        """Write the decisions' changes (:meth:`decided`) from now on with one executemany at
        :meth:`release` instead of the ORM's flush, which updates each application with a
        statement of its own (a tenth of a batched issuance's time)."""
        self._held = {}

    def decided(self, app: models.Application) -> None:
        """``app`` was decided (:data:`DECISION_COLUMNS` changed): written at :meth:`release`
        while held, by the ORM's flush otherwise."""
        if self._held is not None:
            self._held[app.id] = app

    def release(self) -> None:
        """Write the held applications' decision columns, each ``WHERE id AND version`` and
        with the next version, as the ORM would; a row not matched (changed by another
        transaction since it was read) raises :class:`StaleDataError` like the ORM's flush.
        Then they take the written values as their rows' own and leave the session (what is
        loaded stays readable; a later change to one would not be flushed). One with other
        changes besides is left to the ORM's flush."""
        held, self._held = self._held or {}, None
        apps = [a for a in held.values() if instance_state(a).committed_state.keys() <= _ONLY_DECIDED]
        if not apps:
            return
        rows = [
            {"b_id": a.id, "b_version": a.version, "b_next": a.version + 1}
            | {f"b_{name}": getattr(a, name) for name in DECISION_COLUMNS}
            for a in apps
        ]
        # no autoflush: it would write these very applications first, one statement each
        with self._s.no_autoflush:
            if self._s.get_bind().dialect.supports_sane_multi_rowcount:
                matched = execute_rows(self._s, _WRITE_DECIDED, rows)
            else:
                matched = sum(self._s.execute(_WRITE_DECIDED, row).rowcount for row in rows)
        if matched != len(rows):
            raise StaleDataError(
                f"UPDATE statement on table 'applications' expected to update {len(rows)} row(s); "
                f"{matched} were matched."
            )
        for app, row in zip(apps, rows, strict=True):
            for name in DECISION_COLUMNS:
                set_committed_value(app, name, getattr(app, name))
            set_committed_value(app, "version", row["b_next"])
            # still flagged modified (no public way to clear it): out of the session, or its
            # flush would compare every column of every one of them again to find nothing
            self._s.expunge(app)

    def add(self, app: models.Application) -> None:
        self._s.add(app)

    def document_changed(self, app: models.Application) -> None:
        """Re-encrypt a draft's document after it was edited."""
        encrypt_document(self._secrets.cipher, app)

    def get(self, app_id: str, *, for_update: bool = False) -> models.Application:
        app = self._s.execute(_get(for_update), {"app_id": app_id}).scalar_one_or_none()
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

    def already_holds(self, subject_index: str, exclude_id: str | None = None) -> bool:
        """Whether the subject holds a valid or suspended credential, or has an application in
        progress other than ``exclude_id``: one statement (two EXISTS) for a decision's rules."""
        # "" for none: no application has an empty id
        params = {"subject": subject_index, "exclude": exclude_id or ""}
        return bool(self._s.execute(_ALREADY_HOLDS, params).scalar())

    def by_reference(self, reference: str) -> models.Application | None:
        """The application whose 办件编号 is ``reference`` (printed form), or None. Two
        applications could share one (55 bits); the latest is the one its holder is asking about."""
        return (
            self._s.execute(
                sa.select(models.Application)
                .where(applications.c.reference == reference)
                .order_by(applications.c.created_at.desc())
                .limit(1)
            )
            .scalars()
            .first()
        )

    def in_progress_by_subject(self, subject_indexes: Iterable[str]) -> dict[str, set[str]]:
        """The ids of the applications in progress of each of ``subject_indexes`` (one query
        for a batch of decisions)."""
        c = applications.c
        found: dict[str, set[str]] = {}
        for subject, app_id in self._s.execute(
            sa.select(c.subject_index, c.id).where(
                c.subject_index.in_(list(subject_indexes)), c.state.in_(models.IN_PROGRESS)
            )
        ):
            found.setdefault(subject, set()).add(app_id)
        return found

    def by_ids(self, ids: Iterable[str], *, for_update: bool = False) -> dict[str, models.Application]:
        wanted = sorted(set(ids))  # sorted: writers locking overlapping sets lock in one order
        stmt = sa.select(models.Application).where(applications.c.id.in_(wanted))
        if for_update:
            stmt = stmt.order_by(applications.c.id).with_for_update()
        return {a.id: a for a in self._s.execute(stmt).scalars().all()}

    def queue_page(
        self,
        states: Sequence[str],
        *,
        channel: str | None = None,
        deadline_from: dt.datetime | None = None,
        deadline_before: dt.datetime | None = None,
        after: tuple[dt.datetime | None, dt.datetime, str] | None = None,
        limit: int = 50,
        matching: tuple[str, str] | None = None,
    ) -> Sequence[models.Application]:
        """One page of the review queue, oldest deadline first (none last), then oldest
        first: keyset pagination past ``after`` = the last row's (deadline, created_at, id),
        so a page costs the same at the millionth row as at the first.

        ``matching`` = (column, value) narrows it to an officer's search: ``subject_index``,
        ``phone_index``, ``reference`` or ``permit_no`` (the permit's applications include
        those of every credential version, e.g. its 签注 and 补领)."""
        stmt = _queue_select(
            sa.select(models.Application), states, channel, deadline_from, deadline_before, after, limit, matching
        )
        return self._s.execute(stmt).scalars().all()

    def queue_keys(
        self, states: Sequence[str], **filters: Any
    ) -> Sequence[tuple[dt.datetime | None, dt.datetime, str]]:
        """:meth:`queue_page`'s order and filters (the same keywords), only each row's keyset
        key (deadline, created_at, id): a batch approval walks the queue without loading (and
        decrypting) each document twice."""
        c = applications.c
        page = {"channel": None, "deadline_from": None, "deadline_before": None, "after": None, "matching": None}
        page.update(filters)
        stmt = _queue_select(sa.select(c.deadline, c.created_at, c.id), states, **page)
        return [tuple(row) for row in self._s.execute(stmt)]

    def queue_counts(self, states: Sequence[str], now: dt.datetime, tomorrow: dt.datetime) -> dict[str, dict[str, int]]:
        """How many applications of ``states`` there are by state, by channel and by due date
        (overdue: deadline passed; today: due before ``tomorrow``; later; none): three
        aggregate queries, no rows loaded."""
        c = applications.c
        where = c.state.in_(states)
        due = sa.case(
            (c.deadline.is_(None), "none"),
            (c.deadline < now, "overdue"),
            (c.deadline < tomorrow, "today"),
            else_="later",
        )
        counts = {}
        for name, column in (("by_state", c.state), ("by_channel", c.channel), ("by_due", due)):
            rows = self._s.execute(sa.select(column, sa.func.count()).where(where).group_by(column)).all()
            counts[name] = {str(k): n for k, n in rows}
        return counts

    def without_phone_index(self, limit: int) -> Sequence[models.Application]:
        """Up to ``limit`` applications stored before their phone was indexed (migration 0019)."""
        c = applications.c
        stmt = sa.select(models.Application).where(c.phone_index.is_(None)).order_by(c.id).limit(limit)
        return self._s.execute(stmt).scalars().all()

    def set_phone_indexes(self, indexes: dict[str, str]) -> None:
        """Store phone indexes by application id, as a bulk UPDATE: filling an index is not an
        edit of the application, so its ``version`` (what a reviewer's decision names) stays."""
        if indexes:
            self._s.execute(
                sa.update(applications)
                .where(applications.c.id == sa.bindparam("app_id"))
                .values(phone_index=sa.bindparam("index")),
                [{"app_id": app_id, "index": index} for app_id, index in indexes.items()],
            )

    def with_provisional_deadline(self) -> Sequence[models.Application]:
        """Accepted applications whose deadline was computed before their year's holiday
        notice was imported, locked for the recomputation."""
        return (
            self._s.execute(
                sa.select(models.Application)
                .where(applications.c.state == models.ACCEPTED, applications.c.deadline_provisional.is_(True))
                .order_by(applications.c.accepted_at, applications.c.id)
                .with_for_update()
            )
            .scalars()
            .all()
        )


def _queue_select(stmt, states, channel, deadline_from, deadline_before, after, limit, matching):
    """The review queue's filters and keyset order on ``stmt`` (see ``queue_page``)."""
    c = applications.c
    stmt = stmt.where(c.state.in_(states))
    if matching is not None:
        stmt = stmt.where(_matches(*matching))
    if channel is not None:
        stmt = stmt.where(c.channel == channel)
    if deadline_from is not None:
        stmt = stmt.where(c.deadline >= deadline_from)
    if deadline_before is not None:
        stmt = stmt.where(c.deadline < deadline_before)
    if after is not None:
        deadline, created_at, app_id = after
        later_same = sa.or_(c.created_at > created_at, sa.and_(c.created_at == created_at, c.id > app_id))
        if deadline is None:
            stmt = stmt.where(c.deadline.is_(None), later_same)
        else:
            stmt = stmt.where(
                sa.or_(c.deadline > deadline, c.deadline.is_(None), sa.and_(c.deadline == deadline, later_same))
            )
    return stmt.order_by(c.deadline.asc().nulls_last(), c.created_at.asc(), c.id.asc()).limit(limit)
