"""The resident's trip through the test OpenID Connect provider, over real HTTP, with the
issuer's Flask test client as the browser (Chromium does the same in the browser tests)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import sqlalchemy as sa

from govcred.core.orm import audit_log


def start(client, next_url: str = ""):
    """The log-in page's link: the redirect to the provider's authorization endpoint."""
    response = client.get("/resident/identity/oidc/start" + (f"?next={next_url}" if next_url else ""))
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def callback_of(location: str) -> tuple[str, dict[str, str]]:
    """The path and query the provider sends the browser back to."""
    parts = urlsplit(location)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


def come_back(client, path: str, params: dict[str, str]):
    return client.get(f"{path}?{urlencode(params)}")


def sign_in(client, provider, next_url: str = ""):
    """The whole trip; the callback's response."""
    path, params = callback_of(provider.authorize(start(client, next_url)))
    return come_back(client, path, params)


def identity_audit(rt) -> list[tuple]:
    """``(action, outcome, code or source)`` of every identity sign-in audit entry, in order."""
    with rt.uow(readonly=True) as uow:
        rows = uow.session.execute(
            sa.select(audit_log.c.action, audit_log.c.outcome, audit_log.c.details)
            .where(audit_log.c.action.like("auth.identity_%"))
            .order_by(audit_log.c.seq)
        ).all()
    return [(a, o, d.get("code") or d.get("source")) for a, o, d in rows]
