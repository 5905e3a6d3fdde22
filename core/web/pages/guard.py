"""Per-request glue between browsers and the app: the session cookie, the CSRF check and the
principal the role checks see.

Pages and the JSON API share :func:`govcred.core.web.authn.current_principal`; it consults
``g.session_principal``, set here. A request to ``/api/`` that changes state is authorised
by a page session only when it also carries the CSRF token in ``X-CSRF-Token`` (the page
scripts send it); bearer-token API calls involve no cookie and are not affected.
"""

from __future__ import annotations

import secrets

from flask import Flask, abort, g, make_response, redirect, request, url_for

from govcred.core.accounts import sessions, signin
from govcred.core.accounts.officers import Principal
from govcred.core.web.authn import current_principal
from govcred.core.web.context import runtime_of
from govcred.core.web.pages import csrf

ANON_COOKIE_BYTES = 16


def secure_cookies(app: Flask | None = None) -> bool:
    return runtime_of(app).settings.issuer.startswith("https://")


def session_cookie_name() -> str:
    # The __Host- prefix makes the browser insist on Secure, Path=/ and no Domain.
    return "__Host-session" if secure_cookies() else "govcred_session"


def anon_cookie_name() -> str:
    return "__Host-csrf" if secure_cookies() else "govcred_csrf"


def _is_api(path: str) -> bool:
    return path.startswith("/api/")


def _is_exempt(path: str) -> bool:
    return path.startswith("/static/") or path.startswith("/.well-known/")


def page_session() -> sessions.PageSession | None:
    """The browser's live session (loaded once per request)."""
    if "page_session" not in g:
        raw = request.cookies.get(session_cookie_name(), "")
        found = None
        if raw:
            rt = runtime_of()
            with rt.uow() as uow:
                found = sessions.resume(uow, raw, rt.clock.now())
                uow.commit()  # the session's last-seen time
        g.page_session = found
    return g.page_session


def lapsed_resident() -> Principal | None:
    """The resident whose session cookie this browser still sends after the session lapsed
    (see :func:`govcred.core.accounts.sessions.lapsed_subject`), or None."""
    if page_session() is not None:
        return None
    raw = request.cookies.get(session_cookie_name(), "")
    if not raw:
        return None
    rt = runtime_of()
    with rt.uow(readonly=True) as uow:
        found = sessions.lapsed_subject(uow, raw, rt.clock.now())
    if found is None or found[0] != "resident":
        return None
    return Principal("resident", found[1])


def session_principal() -> Principal | None:
    session = page_session()
    return None if session is None else sessions.principal_of(session)


def csrf_binding() -> str:
    session = page_session()
    if session is not None:
        return "s|" + session.id
    if "anon_csrf" not in g:
        g.anon_csrf = request.cookies.get(anon_cookie_name()) or secrets.token_urlsafe(ANON_COOKIE_BYTES)
    return "a|" + g.anon_csrf


def csrf_token() -> str:
    return csrf.token_for(runtime_of().secrets.session_key, csrf_binding())


def _token_ok() -> bool:
    key = runtime_of().secrets.session_key
    presented = csrf.presented_token(request)
    bindings = []
    session = page_session()
    if session is not None:
        bindings.append("s|" + session.id)
    else:
        # A form rendered for a session that has since lapsed still carries that session's
        # token: it is accepted (only this browser could have it), so that the view can
        # keep what was typed and send the person to sign in again (never signed in by it).
        raw = request.cookies.get(session_cookie_name(), "")
        if raw:
            bindings.append("s|" + raw)
    anon = request.cookies.get(anon_cookie_name())
    if anon:
        bindings.append("a|" + anon)
    return any(csrf.token_matches(key, b, presented) for b in bindings)


def before_request() -> None:
    path = request.path
    if _is_exempt(path):
        return
    unsafe = request.method in csrf.UNSAFE_METHODS
    if _is_api(path):
        if request.headers.get("Authorization", "").startswith("Bearer "):
            return
        if unsafe and (csrf.foreign_origin(request) or not _token_ok()):
            return  # no session principal: the API sees an anonymous caller
        g.session_principal = session_principal
        return
    g.session_principal = session_principal
    # no route takes it (a wrong method, an unknown address): no view runs, so nothing needs the
    # token, and the answer is the 405 or 404 it is, not "page expired"
    if unsafe and request.routing_exception is None:
        why = csrf.foreign_origin(request)
        if why:
            abort(403, description="跨站请求已被拒绝")
        if not _token_ok():
            abort(400, description="页面已过期或请求无效，请刷新页面后重试")


def set_session_cookie(response, session_id: str | None) -> None:
    """Set (or, with None, clear) the session cookie; HttpOnly, SameSite=Lax, Secure on https."""
    name = session_cookie_name()
    secure = secure_cookies()
    if session_id is None:
        response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="Lax")
    else:
        response.set_cookie(name, session_id, path="/", secure=secure, httponly=True, samesite="Lax")


def set_short_cookie(response, name: str, value: str, *, path: str, lifetime) -> None:
    """A cookie for one short step (a sign-in under way, a progress look-up): HttpOnly,
    SameSite=Lax, Secure on https, limited to ``path`` and gone after ``lifetime``."""
    response.set_cookie(
        name,
        value,
        max_age=int(lifetime.total_seconds()),
        path=path,
        secure=secure_cookies(),
        httponly=True,
        samesite="Lax",
    )


def after_request(response):
    """Give an anonymous browser its CSRF binding cookie the first time a form is shown."""
    if "anon_csrf" in g and request.cookies.get(anon_cookie_name()) != g.anon_csrf:
        response.set_cookie(
            anon_cookie_name(), g.anon_csrf, path="/", secure=secure_cookies(), httponly=True, samesite="Lax"
        )
    if not _is_api(request.path) and not _is_exempt(request.path) and response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def save_session_data(session: sessions.PageSession) -> None:
    rt = runtime_of()
    with rt.uow() as uow:
        sessions.save_data(uow, session)
        uow.commit()


def log_out(login_endpoint: str):
    """Revoke the browser's session row (a replayed cookie is worthless) and clear the cookie."""
    raw = request.cookies.get(session_cookie_name())
    if raw:
        signin.sign_out_page(runtime_of().collaborators, raw, current_principal(), request_id=g.get("request_id", ""))
    response = make_response(redirect(url_for(login_endpoint)))
    set_session_cookie(response, None)
    return response
