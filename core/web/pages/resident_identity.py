"""Resident sign-in through an identity provider (the real-name service): the start, which
sends the browser to the provider, and the callback it comes back to.

The start is a GET (a link on the log-in page): the page's Content-Security-Policy allows
form posts to this site only, and a form whose answer redirects to the provider would be
stopped by the browser. The pending sign-in is bound to the browser by its own cookie
(HttpOnly, SameSite=Lax so that it comes back with the provider's top-level redirect, and
only under this blueprint's path). Every rule is in :mod:`govcred.core.accounts.resident_signin`.
"""

from __future__ import annotations

from flask import Blueprint, g, make_response, redirect, render_template, request, url_for

from govcred.core.accounts import resident_signin
from govcred.core.accounts.identity_settings import identity_settings
from govcred.core.exceptions import IdentityRefused
from govcred.core.web.authn import public
from govcred.core.web.context import runtime_of
from govcred.core.web.pages import guard
from govcred.core.web.pages.views import install_error_pages, safe_next

bp = Blueprint("resident_identity", __name__, url_prefix="/resident/identity")
install_error_pages(bp, "resident.login")
COOKIE_PATH = "/resident/identity/"


def _cookie_name() -> str:
    # __Host- cookies must have Path=/; on https the name says "this site's, secure" instead
    return "__Secure-identity-login" if guard.secure_cookies() else "govcred_identity_login"


def redirect_uri(provider: str) -> str:
    """The callback URL registered with the provider: the issuer's public base URL (the
    requests behind a proxy may not know it) and this blueprint's path."""
    return runtime_of().settings.issuer.rstrip("/") + url_for("resident_identity.callback", provider=provider)


@bp.app_context_processor
def _sign_in_options():
    """``resident_sign_in_options()`` for the log-in page: the providers' buttons and whether
    the SMS-code sign-in is offered (asked only by the templates that call it)."""

    def options() -> dict:
        rt = runtime_of()
        return {
            "providers": [(p.name, p.label) for p in rt.collaborators.identity_providers.values()],
            "sms_code": identity_settings(rt.settings).sms_sign_in,
        }

    return {"resident_sign_in_options": options}


def _refusal_page(exc: IdentityRefused, provider: str):
    return make_response(
        render_template(
            "resident/identity_refused.html",
            message=exc.message,
            code=exc.code,
            provider=provider,
            request_id=g.get("request_id", ""),
        ),
        exc.http_status,
    )


@bp.get("/<provider>/start")
@public
def start(provider: str):
    try:
        started = resident_signin.start_identity_sign_in(
            runtime_of().collaborators,
            provider,
            redirect_uri=redirect_uri(provider),
            next_url=safe_next(request.args.get("next"), ""),
            request_id=g.get("request_id", ""),
        )
    except IdentityRefused as exc:  # the provider cannot be reached
        return _refusal_page(exc, provider)
    response = make_response(redirect(started.redirect_url, code=303))
    guard.set_short_cookie(
        response, _cookie_name(), started.browser_token, path=COOKIE_PATH, lifetime=resident_signin.LOGIN_LIFETIME
    )
    return response


@bp.get("/<provider>/callback")
@public
def callback(provider: str):
    try:
        done = resident_signin.finish_identity_sign_in(
            runtime_of().collaborators,
            provider,
            browser_token=request.cookies.get(_cookie_name()),
            params=request.args.to_dict(),
            redirect_uri=redirect_uri(provider),
            replaces=request.cookies.get(guard.session_cookie_name()),
            request_id=g.get("request_id", ""),
        )
    except IdentityRefused as exc:
        response = _refusal_page(exc, provider)
    else:
        response = make_response(redirect(safe_next(done.next_url, url_for("resident.home"))))
        guard.set_session_cookie(response, done.session.id)
    response.delete_cookie(_cookie_name(), path=COOKIE_PATH, secure=guard.secure_cookies(), httponly=True)
    return response
