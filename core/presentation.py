"""Short-lived presentations of a credential (``rp-presentation+jwt``, DESIGN "Credential and QR").

A logged-in holder asks for one just before showing the QR: it lives
``settings.presentation_seconds`` (60-120 s) so a screenshot goes stale, has its own random
``jti``, names the credential it presents (``cid``) and repeats only what a verifier may learn
(the minimal claims and the credential's status reference, so a revoked credential's
presentations fail too). The issuer signs it: holders have no device keys in this version.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from govcred.core import models
from govcred.core.claims import CREDENTIAL_ID, RESERVED_CLAIMS, STATUS
from govcred.core.exceptions import Conflict
from govcred.core.tokens import PRESENTATION, issue_token

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core.services.collaborators import Collaborators


def presentation_claims(
    credential: models.Credential, *, issuer: str, now: int, lifetime: int, audience: str | None = None
) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": issuer,
        "jti": secrets.token_urlsafe(16),  # 128 bits, unrelated to the credential's jti
        "iat": now,
        "exp": max(now + 1, min(now + lifetime, int(credential.expires_at.timestamp()))),
        CREDENTIAL_ID: credential.id,
    }
    claims.update({k: v for k, v in credential.claims.items() if k not in RESERVED_CLAIMS})
    claims[STATUS] = credential.claims[STATUS]
    if audience is not None:
        claims["aud"] = audience
    return claims


def issue_presentation(
    deps: Collaborators, credential: models.Credential, *, audience: str | None = None, require_valid: bool = True
) -> str:
    """A fresh presentation token of ``credential``; refused for one that cannot be shown.

    ``require_valid=False`` is for proving possession only (asking a verifier for its log of
    this credential), which a holder may do for a suspended or lapsed credential too.
    """
    now = deps.clock.now()
    if require_valid and credential.status != models.VALID:
        raise Conflict("该证件当前不可出示（已中止或已失效）", code="CREDENTIAL_NOT_VALID")
    if require_valid and not credential.not_before <= now < credential.expires_at:
        raise Conflict("该证件不在有效期内", code="CREDENTIAL_NOT_IN_VALIDITY")
    claims = presentation_claims(
        credential,
        issuer=deps.settings.issuer,
        now=int(now.timestamp()),
        lifetime=deps.settings.presentation_seconds,
        audience=audience,
    )
    return issue_token(PRESENTATION, claims, deps.keys.active_key(), clock=deps.clock)
