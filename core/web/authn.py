"""Who is calling: bearer tokens for the API (officers and residents); role checks deny by default."""

from __future__ import annotations

import functools

from flask import g, request

from govcred.core.accounts.officers import Principal, require_role
from govcred.core.accounts.signin import principal_for_bearer
from govcred.core.exceptions import AuthenticationRequired
from govcred.core.web.context import runtime_of


def bearer_token() -> str | None:
    """The token of the request's ``Authorization: Bearer`` header, if any."""
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else None


def bearer_principal() -> Principal | None:
    token = bearer_token()
    if token is None:
        return None
    return principal_for_bearer(runtime_of().collaborators, token)


def current_principal() -> Principal | None:
    """The caller, from a bearer token or (pages) the server-side session; cached per request."""
    if "principal" not in g:
        principal = bearer_principal()
        if principal is None:
            lookup = getattr(g, "session_principal", None)
            principal = lookup() if callable(lookup) else None
        g.principal = principal
    return g.principal


def roles_required(*roles: str):
    """View decorator: only officers with one of ``roles``; everyone else is denied."""
    if not roles:
        raise ValueError("roles_required needs at least one role (deny by default)")

    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            require_role(current_principal(), *roles)
            return view(*args, **kwargs)

        inner.govcred_roles = roles
        return inner

    return wrap


def login_required(view):
    @functools.wraps(view)
    def inner(*args, **kwargs):
        if current_principal() is None:
            raise AuthenticationRequired("请先登录")
        return view(*args, **kwargs)

    inner.govcred_roles = ("*",)
    return inner


def public(view):
    """Mark a view as intentionally open to anyone (checked by the route-policy test)."""
    view.govcred_roles = ()
    return view
