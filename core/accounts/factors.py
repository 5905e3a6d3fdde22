"""The recent-factor rule: deciding, changing a credential's status, cancelling a permit,
issuing on an officer's behalf and rotating the signing key need the officer to have given
every sign-in factor of their account (password, plus TOTP unless an administrator exempted
the clerk) within :data:`RECENT_FACTOR_WITHIN` (security checklist W-03).

The use cases call :func:`require_recent_factor` themselves, so no channel -- page, API or
one added later -- can reach them without it. A page session's factor is its log-in (every
page sign-in starts a new session); a bearer token's is its sign-in or its last
re-authentication (``POST /api/v1/auth/token/factor``).
"""

from __future__ import annotations

import datetime as dt

from govcred.core.accounts.officers import Principal
from govcred.core.exceptions import AuthenticationRequired

RECENT_FACTOR_WITHIN = dt.timedelta(minutes=10)
RECENT_FACTOR_REQUIRED = "RECENT_FACTOR_REQUIRED"


def has_recent_factor(principal: Principal | None, now: dt.datetime) -> bool:
    return (
        principal is not None and principal.factor_at is not None and now - principal.factor_at <= RECENT_FACTOR_WITHIN
    )


def require_recent_factor(principal: Principal | None, now: dt.datetime) -> None:
    """Refuse an officer whose last complete sign-in is older than ten minutes (or unknown).

    Residents are not asked: what they may do to their own permits needs no officer factor.
    """
    if principal is not None and principal.kind != "officer":
        return
    if not has_recent_factor(principal, now):
        raise AuthenticationRequired(
            "此操作需要在 10 分钟内验证过身份：请重新输入动态验证码（或重新登录）后再试",
            code=RECENT_FACTOR_REQUIRED,
        )
