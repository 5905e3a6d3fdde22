"""Sign-in and sign-out: the rules every channel follows, called by the pages and the API alike.

Officers sign in with a password, plus a TOTP code when :func:`totp.requires_totp` says so,
throttled per account and per source address (:mod:`throttle`); residents with a code sent by
SMS (:mod:`login_codes`). A page sign-in always starts a new session and revokes the one the
browser had (session rotation, W-03); an API sign-in issues a bearer token. Every attempt,
good or bad, is audited, and a failure's audit entry is committed before the error is raised.

Views translate HTTP to these calls and errors back to HTTP; they hold no sign-in rule.
A failed officer sign-in raises :class:`AuthenticationRequired` whose ``details["step"]``
names what was wrong (``"password"`` or ``"totp"``), so a form can mark the right field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from govcred.core import models
from govcred.core.accounts import sessions, throttle, totp
from govcred.core.accounts.login_codes import redeem_login_code
from govcred.core.accounts.officers import (
    Principal,
    issue_api_token,
    issue_resident_token,
    revoke_api_token,
    verify_password,
)
from govcred.core.exceptions import AuthenticationRequired, RateLimited
from govcred.core.services.collaborators import Collaborators

#: Audit actions (the throttle counts failures of PAGE_LOGIN).
PAGE_LOGIN = "auth.page_login"
PAGE_LOGIN_THROTTLED = "auth.page_login_throttled"
PAGE_LOGOUT = "auth.page_logout"
OFFICER_TOKEN = "auth.token"
RESIDENT_TOKEN = "auth.resident_token"

WRONG_PASSWORD = "用户名或密码错误"


@dataclass(frozen=True)
class OfficerSignIn:
    """A successful officer page sign-in: the new session and the officer's role."""

    session: sessions.PageSession
    role: str


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: dt.datetime
    role: str = ""  # the officer's role; empty for a resident


def _password_ok(officer: models.Officer | None, password: str) -> bool:
    """A disabled account never signs in, whatever the password."""
    return officer is not None and officer.active and verify_password(officer.password_hash, password)


def sign_in_officer_page(
    deps: Collaborators,
    username: str,
    password: str,
    totp_code: str,
    *,
    ip: str,
    request_id: str = "",
    replaces: str | None = None,
) -> OfficerSignIn:
    """Password, then TOTP where the role requires it; a new page session replacing ``replaces``.

    Raises :class:`RateLimited` while the account or ``ip`` has too many recent failures, and
    :class:`AuthenticationRequired` (``details["step"]``) when a credential is wrong.
    """
    now = deps.clock.now()
    with deps.uow() as uow:
        officer = uow.officers.by_username(username)
        subject = officer.id if officer else f"username:{username[:48]}"
        try:
            throttle.check(uow, action=PAGE_LOGIN, object_id=subject, ip=ip, now=now)
        except RateLimited:
            uow.audit.append(
                actor="anonymous",
                role="",
                action=PAGE_LOGIN_THROTTLED,
                object_type="officer",
                object_id=subject,
                outcome="failure",
                request_id=request_id,
                details={"ip": ip},
            )
            uow.commit()
            raise
        password_ok = _password_ok(officer, password)
        factor = "password"
        try:
            if not password_ok:
                raise AuthenticationRequired(WRONG_PASSWORD, code="LOGIN_FAILED")
            if totp.requires_totp(officer):
                factor = "password+totp"
                totp.check_code(uow, officer, totp_code, now, deps.cipher)
        except AuthenticationRequired as exc:
            uow.rollback()
            uow.audit.append(
                actor=f"officer:{officer.id}" if officer else "anonymous",
                role=officer.role if officer else "",
                action=PAGE_LOGIN,
                object_type="officer",
                object_id=subject,
                outcome="failure",
                request_id=request_id,
                details={"code": exc.code, "factor": factor, "ip": ip},
            )
            uow.commit()
            # a wrong password is reported the same way whether or not the account exists
            raise AuthenticationRequired(
                exc.message if password_ok else WRONG_PASSWORD,
                code=exc.code,
                step="totp" if password_ok else "password",
            ) from None
        session = sessions.start(uow, "officer", officer.id, now, replaces=replaces)
        uow.audit.append(
            actor=f"officer:{officer.id}",
            role=officer.role,
            action=PAGE_LOGIN,
            object_type="officer",
            object_id=officer.id,
            request_id=request_id,
            details={"factor": factor, "ip": ip},
        )
        uow.commit()
        return OfficerSignIn(session, officer.role)


def sign_in_officer_token(deps: Collaborators, username: str, password: str) -> IssuedToken:
    """An API bearer token for an officer's username and password.

    Known gap (issue 11): this checks the password only; unlike the page sign-in it neither
    asks for the TOTP code nor applies the throttles. This function is the one place to fix it.
    """
    now = deps.clock.now()
    with deps.uow() as uow:
        officer = uow.officers.by_username(username)
        ok = _password_ok(officer, password)
        uow.audit.append(
            actor=f"officer:{officer.id}" if officer else "anonymous",
            role=officer.role if officer else "",
            action=OFFICER_TOKEN,
            object_type="officer",
            object_id=officer.id if officer else "-",
            outcome="success" if ok else "failure",
            details={"username": username[:64]},
        )
        if not ok:
            uow.commit()  # the failed attempt stays in the audit log
            raise AuthenticationRequired(WRONG_PASSWORD, code="LOGIN_FAILED", step="password")
        token, expires = issue_api_token(uow, officer, now)
        uow.commit()
        return IssuedToken(token, expires, officer.role)


def sign_in_resident_page(
    deps: Collaborators, phone: str, code: str, *, replaces: str | None = None
) -> sessions.PageSession:
    """Redeem the SMS code (the resident is created on first use); a new page session."""
    with deps.uow() as uow:
        resident = redeem_login_code(uow, deps, phone, code, action=PAGE_LOGIN)
        session = sessions.start(uow, "resident", resident.id, deps.clock.now(), replaces=replaces)
        uow.commit()
    return session


def sign_in_resident_token(deps: Collaborators, phone, code) -> IssuedToken:
    """Redeem the SMS code for a resident bearer token."""
    with deps.uow() as uow:
        resident = redeem_login_code(uow, deps, phone, code, action=RESIDENT_TOKEN)
        token, expires = issue_resident_token(uow, resident, deps.clock.now())
        uow.commit()
    return IssuedToken(token, expires)


def sign_out_page(deps: Collaborators, session_id: str, principal: Principal | None, *, request_id: str = "") -> None:
    """Revoke the browser's session row, so a replayed cookie is worthless; audited."""
    with deps.uow() as uow:
        sessions.revoke(uow, session_id, deps.clock.now())
        if principal is not None:
            uow.audit.append(
                actor=principal.audit_actor,
                role=principal.role or principal.kind,
                action=PAGE_LOGOUT,
                object_type=principal.kind,
                object_id=principal.id,
                request_id=request_id,
            )
        uow.commit()


def sign_out_token(deps: Collaborators, token: str) -> None:
    with deps.uow() as uow:
        revoke_api_token(uow, token, deps.clock.now())
        uow.commit()
