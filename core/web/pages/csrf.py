"""CSRF protection for the pages (security checklist W-04).

A token is an HMAC of what binds the browser: the session id once logged in, before that a
random value in its own cookie. Every POST/PUT/PATCH/DELETE of a page must carry it (hidden
form field ``csrf_token`` or header ``X-CSRF-Token``), and requests announcing a foreign
``Origin`` or ``Sec-Fetch-Site: cross-site`` are refused before the token is even looked at.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from flask import Request

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


def token_for(key: bytes, binding: str) -> str:
    return hmac.new(key, f"csrf|{binding}".encode(), hashlib.sha256).hexdigest()


def token_matches(key: bytes, binding: str | None, presented: str | None) -> bool:
    if not binding or not presented:
        return False
    # as bytes: compare_digest refuses str with non-ASCII characters (TypeError), and a
    # presented token is whatever a form or header carried
    return hmac.compare_digest(token_for(key, binding).encode(), presented.encode("utf-8", "surrogatepass"))


def presented_token(request: Request) -> str | None:
    token = request.headers.get(HEADER)
    if token:
        return token
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form.get(FIELD)
    return None


def foreign_origin(request: Request) -> str | None:
    """Why the request looks cross-site (for the 403), or None when it comes from this site."""
    fetch_site = request.headers.get("Sec-Fetch-Site", "").lower()
    if fetch_site in ("cross-site", "same-site"):
        return f"Sec-Fetch-Site: {fetch_site}"
    origin = request.headers.get("Origin")
    if origin is None:
        return None  # old browsers and non-browser clients; the token still has to match
    if origin == "null":
        # Our Referrer-Policy (no-referrer) makes browsers send "Origin: null" on our own form
        # posts; they also say same-origin in Sec-Fetch-Site. A null origin without that (a
        # sandboxed frame elsewhere, say) is refused.
        return None if fetch_site == "same-origin" else "Origin null"
    own = urlsplit(request.host_url)
    theirs = urlsplit(origin)
    if (theirs.scheme, theirs.netloc) != (own.scheme, own.netloc):
        return f"Origin {origin[:80]}"
    return None
