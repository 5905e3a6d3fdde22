"""Sign-in and sign-out: the rules every channel follows, called by the pages and the API alike.

Officers sign in with a password plus a TOTP code (every role; a clerk an administrator
exempted by name gives the password alone, :func:`totp.requires_totp`), on the page log-in
and on ``POST /api/v1/auth/token`` through ONE check (:func:`_authenticate`): the same
throttles per account and per source address count the failures of both channels
(:mod:`throttle`). Residents sign in with a code sent by SMS (:mod:`login_codes`). A page
sign-in always starts a new session and revokes the one the browser had (session rotation,
W-03); an API sign-in issues a bearer token that idles out and ends at an absolute lifetime
(settings), and that a TOTP code refreshes as the recent factor the deciding use cases ask
for (:func:`refresh_token_factor`, :mod:`factors`). Every attempt, good or bad, is audited,
and a failure's audit entry is committed before the error is raised.

Views translate HTTP to these calls and errors back to HTTP; they hold no sign-in rule.
A failed officer sign-in raises :class:`AuthenticationRequired` whose ``details["step"]``
names what was wrong (``"password"`` or ``"totp"``), so a form can mark the right field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from govcred.core import models
from govcred.core.accounts import factors, sessions, throttle, totp
from govcred.core.accounts.login_codes import redeem_login_code
from govcred.core.accounts.officers import (
    Principal,
    issue_api_token,
    issue_resident_token,
    officer_for_token,
    principal_for_token,
    record_token_factor,
    revoke_api_token,
    revoke_officer_tokens,
    token_expiry,
    touch_token,
    verify_password,
)
from govcred.core.exceptions import AuthenticationRequired, NotFound, RateLimited
from govcred.core.services.collaborators import Collaborators

#: Audit actions. The throttle counts the failures of all three together: a password tried
#: on the page and on the API is the same guess.
PAGE_LOGIN = "auth.page_login"
OFFICER_TOKEN = "auth.token"
TOKEN_FACTOR = "auth.token_factor"
OFFICER_SIGN_INS = (PAGE_LOGIN, OFFICER_TOKEN, TOKEN_FACTOR)
PAGE_LOGIN_THROTTLED = "auth.page_login_throttled"
PAGE_LOGOUT = "auth.page_logout"
RESIDENT_TOKEN = "auth.resident_token"
OFFICER_SIGNED_OUT = "officer.sessions_revoked"
OFFICER_DISABLED = "officer.disabled"

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
    #: until when the token's factor counts as recent (officers; see :mod:`factors`)
    factor_until: dt.datetime | None = None


def _password_ok(officer: models.Officer | None, password: str) -> bool:
    """A disabled account never signs in, whatever the password."""
    return officer is not None and officer.active and verify_password(officer.password_hash, password)


def _throttled(uow, *, action: str, subject: str, ip: str, now: dt.datetime, request_id: str) -> None:
    """Refuse (audited) while the account or the address has too many recent failures on any channel."""
    try:
        throttle.check(uow, actions=OFFICER_SIGN_INS, object_id=subject, ip=ip, now=now)
    except RateLimited:
        uow.audit.append(
            actor="anonymous",
            role="",
            action=f"{action}_throttled",
            object_type="officer",
            object_id=subject,
            outcome="failure",
            request_id=request_id,
            details={"ip": ip},
        )
        uow.commit()
        raise


def _refuse(uow, officer, subject: str, exc: AuthenticationRequired, *, action, password_ok, details, request_id):
    """Audit the failure (committed) and raise the error the channel shows."""
    uow.rollback()
    uow.audit.append(
        actor=f"officer:{officer.id}" if officer else "anonymous",
        role=officer.role if officer else "",
        action=action,
        object_type="officer",
        object_id=subject,
        outcome="failure",
        request_id=request_id,
        details={**details, "code": exc.code},
    )
    uow.commit()
    # a wrong password is reported the same way whether or not the account exists
    raise AuthenticationRequired(
        exc.message if password_ok else WRONG_PASSWORD,
        code=exc.code,
        step="totp" if password_ok else "password",
    ) from None


def _authenticate(
    uow,
    deps: Collaborators,
    username: str,
    password: str,
    totp_code: str,
    *,
    action: str,
    ip: str,
    request_id: str,
    details: dict,
) -> tuple[models.Officer, str]:
    """The one officer check of every channel: throttles, password, TOTP unless exempt.

    Returns the officer and the factors given (``"password+totp"`` or ``"password"``);
    ``details`` is what the audit entry records (the channel's own facts).
    """
    now = deps.clock.now()
    officer = uow.officers.by_username(username)
    subject = officer.id if officer else f"username:{username[:48]}"
    _throttled(uow, action=action, subject=subject, ip=ip, now=now, request_id=request_id)
    password_ok = _password_ok(officer, password)
    factor = "password"
    try:
        if not password_ok:
            raise AuthenticationRequired(WRONG_PASSWORD, code="LOGIN_FAILED")
        if totp.requires_totp(officer):
            factor = "password+totp"
            totp.check_code(uow, officer, totp_code, now, deps.cipher)
    except AuthenticationRequired as exc:
        _refuse(
            uow,
            officer,
            subject,
            exc,
            action=action,
            password_ok=password_ok,
            details={**details, "factor": factor, "ip": ip},
            request_id=request_id,
        )
    return officer, factor


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
    """Password and TOTP (unless exempt); a new page session replacing ``replaces``.

    Raises :class:`RateLimited` while the account or ``ip`` has too many recent failures, and
    :class:`AuthenticationRequired` (``details["step"]``) when a credential is wrong.
    """
    with deps.uow() as uow:
        officer, factor = _authenticate(
            uow, deps, username, password, totp_code, action=PAGE_LOGIN, ip=ip, request_id=request_id, details={}
        )
        session = sessions.start(uow, "officer", officer.id, deps.clock.now(), replaces=replaces)
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


def _token_settings(deps: Collaborators) -> tuple[dt.timedelta, dt.timedelta]:
    settings = deps.settings
    return dt.timedelta(minutes=settings.officer_token_idle_minutes), dt.timedelta(hours=settings.officer_token_hours)


def sign_in_officer_token(
    deps: Collaborators, username: str, password: str, totp_code: str = "", *, ip: str, request_id: str = ""
) -> IssuedToken:
    """An API bearer token: the same password, TOTP and throttles as the page log-in."""
    _idle, lifetime = _token_settings(deps)
    details = {"username": username[:64]}
    with deps.uow() as uow:
        officer, factor = _authenticate(
            uow,
            deps,
            username,
            password,
            totp_code,
            action=OFFICER_TOKEN,
            ip=ip,
            request_id=request_id,
            details=details,
        )
        now = deps.clock.now()
        token, expires = issue_api_token(uow, officer, now, lifetime=lifetime)
        uow.audit.append(
            actor=f"officer:{officer.id}",
            role=officer.role,
            action=OFFICER_TOKEN,
            object_type="officer",
            object_id=officer.id,
            request_id=request_id,
            details={**details, "factor": factor, "ip": ip},
        )
        uow.commit()
        return IssuedToken(token, expires, officer.role, now + factors.RECENT_FACTOR_WITHIN)


def refresh_token_factor(
    deps: Collaborators, token: str, *, password: str = "", totp_code: str = "", ip: str, request_id: str = ""
) -> IssuedToken:
    """Give the factor again for a live officer token: the TOTP code (the password for a clerk
    exempt from TOTP). The token's ``factor_at`` becomes now; throttled like a sign-in."""
    idle, _lifetime = _token_settings(deps)
    now = deps.clock.now()
    with deps.uow() as uow:
        officer = officer_for_token(uow, token, now, idle)
        _throttled(uow, action=TOKEN_FACTOR, subject=officer.id, ip=ip, now=now, request_id=request_id)
        needs_totp = totp.requires_totp(officer)
        factor = "totp" if needs_totp else "password"
        try:
            if needs_totp:
                totp.check_code(uow, officer, totp_code, now, deps.cipher)
            elif not _password_ok(officer, password):
                raise AuthenticationRequired(WRONG_PASSWORD, code="LOGIN_FAILED")
        except AuthenticationRequired as exc:
            _refuse(
                uow,
                officer,
                officer.id,
                exc,
                action=TOKEN_FACTOR,
                password_ok=needs_totp,
                details={"factor": factor, "ip": ip},
                request_id=request_id,
            )
        record_token_factor(uow, token, now)
        expires = token_expiry(uow, token)
        uow.audit.append(
            actor=f"officer:{officer.id}",
            role=officer.role,
            action=TOKEN_FACTOR,
            object_type="officer",
            object_id=officer.id,
            request_id=request_id,
            details={"factor": factor, "ip": ip},
        )
        uow.commit()
    return IssuedToken(token, expires, officer.role, now + factors.RECENT_FACTOR_WITHIN)


def principal_for_bearer(deps: Collaborators, token: str) -> Principal:
    """Who a bearer token speaks for; an officer's token that sat unused past the idle
    timeout is refused (``TOKEN_IDLE``), a live one is touched."""
    idle, _lifetime = _token_settings(deps)
    now = deps.clock.now()
    with deps.uow(readonly=True) as uow:
        principal, due = principal_for_token(uow, token, now, idle)
    if due:
        with deps.uow() as uow:
            touch_token(uow, token, now)
            uow.commit()
    return principal


def sign_out_everywhere(deps: Collaborators, username: str, *, actor: str = "cli") -> tuple[int, int]:
    """End every page session and bearer token of the officer at once; (sessions, tokens)."""
    return _end_everything(deps, username, OFFICER_SIGNED_OUT, actor=actor, disable=False)


def disable_officer(deps: Collaborators, username: str, *, actor: str = "cli") -> tuple[int, int]:
    """Disable the account and end its sessions and tokens; (sessions, tokens). A disabled
    account never signs in again, whatever the password."""
    return _end_everything(deps, username, OFFICER_DISABLED, actor=actor, disable=True)


def _end_everything(deps: Collaborators, username: str, action: str, *, actor: str, disable: bool) -> tuple[int, int]:
    now = deps.clock.now()
    with deps.uow() as uow:
        officer = uow.officers.by_username(username)
        if officer is None:
            raise NotFound(f"没有用户名为 {username[:64]} 的账号", code="OFFICER_UNKNOWN")
        if disable:
            officer.active = False
        ended = sessions.revoke_all(uow, "officer", officer.id, now), revoke_officer_tokens(uow, officer.id, now)
        uow.audit.append(
            actor=actor,
            role="admin",
            action=action,
            object_type="officer",
            object_id=officer.id,
            details={"sessions": ended[0], "tokens": ended[1]},
        )
        uow.commit()
    return ended


def sign_in_resident_page(
    deps: Collaborators, phone: str, code: str, *, code_id: str, replaces: str | None = None
) -> sessions.PageSession:
    """Redeem the SMS code ``code_id`` (the resident is created on first use); a new page session."""
    with deps.uow() as uow:
        resident = redeem_login_code(uow, deps, phone, code, code_id=code_id, action=PAGE_LOGIN)
        session = sessions.start(uow, "resident", resident.id, deps.clock.now(), replaces=replaces)
        uow.commit()
    return session


def sign_in_resident_token(deps: Collaborators, phone, code, *, code_id) -> IssuedToken:
    """Redeem the SMS code ``code_id`` for a resident bearer token."""
    with deps.uow() as uow:
        resident = redeem_login_code(uow, deps, phone, code, code_id=code_id, action=RESIDENT_TOKEN)
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
