"""Issuance: sign and store the credential of an approved application (a first issue, or a
lifecycle re-issue), with its permit number, status-list index and the plugins' claims."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from govcred.core import models
from govcred.core.claims import RESERVED_CLAIMS
from govcred.core.clock import BEIJING
from govcred.core.exceptions import ConfigError
from govcred.core.repository.held import transient
from govcred.core.services.collaborators import Collaborators
from govcred.core.status import status_list_uri
from govcred.core.tokens import CREDENTIAL, issue_token


def compact_id() -> str:
    """A credential id (``jti``): the 16 bytes of a random UUID as 22 base64url characters."""
    return base64.urlsafe_b64encode(models.random_uuid_bytes()).rstrip(b"=").decode()


def merge_claims(parts: Sequence[Mapping[str, Any] | None]) -> tuple[dict[str, Any], dt.datetime | None]:
    """Plugins' claims merged; a key set twice or a reserved key is a configuration error."""
    merged: dict[str, Any] = {}
    lapse: dt.datetime | None = None
    problems = []
    for part in parts:
        for name, value in (part or {}).items():
            if name == "_exp":
                if not isinstance(value, dt.datetime) or value.tzinfo is None:
                    problems.append("_exp must be an aware datetime")
                elif lapse is not None:
                    problems.append("_exp set by two plugins")
                else:
                    lapse = value
            elif name in RESERVED_CLAIMS:
                problems.append(f"claim {name!r} is reserved to core")
            elif name in merged:
                problems.append(f"claim {name!r} set by two plugins")
            else:
                merged[name] = value
    if problems:
        raise ConfigError("; ".join(problems), problems=problems)
    return merged, lapse


def permit_prefix(credential_type: str, county: str, now: dt.datetime) -> str:
    """E.g. ZJ3311212026: region tag of the credential type, county, year; 8 digits follow."""
    return credential_type.split("-", 1)[0].upper() + county + str(now.astimezone(BEIJING).year)


def issue_credential(
    deps: Collaborators,
    uow,
    app: models.Application,
    decision: models.Decision,
    context: models.EligibilityContext,
    key,
    now: dt.datetime,
    *,
    permit_no: str | None = None,
    version: int = 1,
    actor: str | None = None,
    role: str = "reviewer",
) -> models.Credential:
    """Sign and store the credential of an approved application, in the caller's transaction.

    A first issue gets a new permit number; the lifecycle (:mod:`.lifecycle`) re-issues an
    endorsed permit under its own ``permit_no`` with the next ``version``, and names the
    resident or clerk who asked as ``actor``/``role`` of the audit entry.
    """
    settings = deps.settings
    credential_type = deps.credential_types[app.schema]
    plugin_claims, lapse = merge_claims([credential_type.claims(app, decision, context)])
    cap = now + dt.timedelta(days=settings.credential_max_days)
    expires = min(lapse, cap) if lapse is not None else cap
    credential_id = compact_id()
    list_id, idx = deps.allocator.status_index(uow, size=settings.status_list_size, now=now)
    issued = int(now.timestamp())
    claims = {
        "iss": settings.issuer,
        "jti": credential_id,
        # no nbf: equal to iat it says nothing more (RFC 7519 makes it optional) and costs 23 of
        # the QR's characters; verifiers still honour the nbf of credentials issued with one
        "iat": issued,
        "exp": int(expires.timestamp()),
        **plugin_claims,
        "status": {"status_list": {"idx": idx, "uri": status_list_uri(settings.issuer, list_id)}},
    }
    token = issue_token(CREDENTIAL, claims, key, clock=deps.clock)
    permit_no = permit_no or deps.allocator.permit_no(uow, permit_prefix(credential_type.name, app.county, now), now)
    credential = transient(
        models.Credential,
        {
            "version": version,
            "application_id": app.id,
            "permit_no": permit_no,
            "credential_type": credential_type.name,
            "subject_index": app.subject_index,
            "issued_at": now,
            "not_before": now,
            "expires_at": dt.datetime.fromtimestamp(claims["exp"], dt.UTC),
            "kid": key.kid,
            "token": token,
            "claims": claims,
            "status_list_id": list_id,
            "status_idx": idx,
            "id": credential_id,
            "owner_id": app.owner_id,
            # a re-issue keeps (or restarts) the cycle's start; a first issue takes the type's answer
            "residence_start": context.extra.get("residence_start") or credential_type.residence_start(claims),
        },
    )
    uow.credentials.add(credential)
    uow.signing_keys.extend_verify_until(key.kid, credential.expires_at)
    decision.credential_id = credential.id
    app.permit_no = permit_no
    uow.audit.append(
        actor=actor or f"officer:{decision.reviewer_id}",
        role=role,
        action="credential.issued",
        object_type="credential",
        object_id=credential.id,
        details={"kid": key.kid, "status_list": list_id, "expires_at": credential.expires_at.isoformat()},
    )
    return credential


def credential_for(deps: Collaborators, credential_id: str) -> models.Credential:
    with deps.uow(readonly=True) as uow:
        credential = uow.credentials.get(credential_id)
        return credential
