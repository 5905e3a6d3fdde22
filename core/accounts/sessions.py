"""Server-side page sessions (security checklist W-03).

The cookie carries a 128-bit random id; the table ``web_sessions`` stores only its SHA-256,
so a database dump holds no usable session. A session ends when it is idle too long (15
minutes for officers, 30 for residents), 8 hours after log-in whatever happens, when it is
revoked (log-out), or when the officer's account is disabled. A new id is issued at every
log-in, so an id planted before log-in is worth nothing after it. Issuing, revoking,
suspending and reinstating need a log-in more recent than :data:`REAUTH_WITHIN`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from govcred.core.accounts.factors import RECENT_FACTOR_WITHIN
from govcred.core.accounts.officers import Principal
from govcred.core.orm import web_sessions

IDLE_TIMEOUT = {"officer": dt.timedelta(minutes=15), "resident": dt.timedelta(minutes=30)}
ABSOLUTE_TIMEOUT = dt.timedelta(hours=8)
#: Issuing, revoking, suspending and reinstating need a log-in (password + TOTP) this recent
#: (security checklist W-03): an unattended session cannot be used to issue a permit. The
#: use cases check it (:mod:`govcred.core.accounts.factors`); a session's factor is its log-in.
REAUTH_WITHIN = RECENT_FACTOR_WITHIN
#: ``last_seen_at`` is written at most this often, so browsing does not write on every click.
TOUCH_EVERY = dt.timedelta(seconds=30)


@dataclass
class PageSession:
    id: str  # the raw id, from the cookie
    kind: str  # officer | resident
    subject_id: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    data: dict[str, Any] = field(default_factory=dict)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start(
    uow,
    kind: str,
    subject_id: str,
    now: dt.datetime,
    *,
    replaces: str | None = None,
    data: dict[str, Any] | None = None,
) -> PageSession:
    """A new session for ``subject_id``; ``replaces`` (the id the browser had) is revoked."""
    if kind not in IDLE_TIMEOUT:
        raise ValueError(f"unknown session kind {kind!r}")
    if replaces:
        revoke(uow, replaces, now)
    session_id = secrets.token_urlsafe(16)  # 128 bits from the OS CSPRNG
    uow.session.execute(
        sa.insert(web_sessions).values(
            id_hash=_hash(session_id),
            kind=kind,
            subject_id=subject_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + ABSOLUTE_TIMEOUT,
            data=dict(data or {}),
        )
    )
    return PageSession(session_id, kind, subject_id, now, now, dict(data or {}))


def _row(uow, session_id: str):
    if not session_id or len(session_id) > 64:
        return None
    return (
        uow.session.execute(sa.select(web_sessions).where(web_sessions.c.id_hash == _hash(session_id)))
        .mappings()
        .first()
    )


def load(uow, session_id: str, now: dt.datetime) -> PageSession | None:
    """The live session for ``session_id`` (touched), or None when unknown, revoked, idle or expired."""
    row = _row(uow, session_id)
    if row is None or row["revoked_at"] is not None or row["expires_at"] <= now:
        return None
    if now - row["last_seen_at"] > IDLE_TIMEOUT[row["kind"]]:
        return None
    if now - row["last_seen_at"] >= TOUCH_EVERY:
        uow.session.execute(
            sa.update(web_sessions).where(web_sessions.c.id_hash == row["id_hash"]).values(last_seen_at=now)
        )
    return PageSession(session_id, row["kind"], row["subject_id"], row["created_at"], now, dict(row["data"] or {}))


def lapsed_subject(uow, session_id: str, now: dt.datetime) -> tuple[str, str] | None:
    """``(kind, subject_id)`` of a session that ran out (idle or past its absolute limit),
    not one that was revoked: whose form a browser was filling in when its session lapsed,
    so that what it sends is kept for them rather than lost (it is never signed in again)."""
    row = _row(uow, session_id)
    if row is None or row["revoked_at"] is not None:
        return None
    lapsed = row["expires_at"] <= now or now - row["last_seen_at"] > IDLE_TIMEOUT[row["kind"]]
    return (row["kind"], row["subject_id"]) if lapsed else None


def resume(uow, session_id: str, now: dt.datetime) -> PageSession | None:
    """The live session of a request (see :func:`load`), or None once the officer it belongs
    to is disabled; an officer's session carries their current role and name."""
    session = load(uow, session_id, now)
    if session is None or session.kind != "officer":
        return session
    officer = uow.officers.get(session.subject_id)
    if officer is None or not officer.active:
        return None
    session.data["principal"] = {"role": officer.role, "name": officer.display_name}
    return session


def principal_of(session: PageSession) -> Principal:
    """Who a resumed session speaks for; an officer's last factor is the session's log-in."""
    if session.kind == "officer":
        info = session.data.get("principal", {})
        return Principal(
            "officer", session.subject_id, info.get("role", ""), info.get("name", ""), factor_at=session.created_at
        )
    return Principal("resident", session.subject_id)


def signed_in_recently(session: PageSession | None, now: dt.datetime) -> bool:
    """Whether ``session`` began (with a full log-in) within :data:`REAUTH_WITHIN`."""
    return session is not None and now - session.created_at <= REAUTH_WITHIN


def save_data(uow, session: PageSession) -> None:
    uow.session.execute(
        sa.update(web_sessions).where(web_sessions.c.id_hash == _hash(session.id)).values(data=session.data)
    )


def revoke(uow, session_id: str, now: dt.datetime) -> None:
    uow.session.execute(
        sa.update(web_sessions)
        .where(web_sessions.c.id_hash == _hash(session_id), web_sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_all(uow, kind: str, subject_id: str, now: dt.datetime) -> int:
    """End every session of one person (an administrator disabling an account)."""
    result = uow.session.execute(
        sa.update(web_sessions)
        .where(
            web_sessions.c.kind == kind, web_sessions.c.subject_id == subject_id, web_sessions.c.revoked_at.is_(None)
        )
        .values(revoked_at=now)
    )
    return result.rowcount
