"""Rotating the issuer's signing key as an administrator's use case: the role and the recent
sign-in factor are checked here, so the API and the command line follow one rule."""

from __future__ import annotations

from govcred.core.accounts.factors import require_recent_factor
from govcred.core.accounts.officers import Principal, require_role
from govcred.core.keystore import KeyInfo
from govcred.core.services.collaborators import Collaborators

ROTATE_ROLES = ("admin",)


def rotate_signing_key(deps: Collaborators, principal: Principal) -> KeyInfo:
    """A new active key; the previous one is retired but stays published (audited by the key store)."""
    require_role(principal, *ROTATE_ROLES)
    require_recent_factor(principal, deps.clock.now())
    return deps.keys.rotate(actor=principal.audit_actor)
