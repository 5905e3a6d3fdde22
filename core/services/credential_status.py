"""Revoke, suspend and reinstate a credential: one transaction with its audit entry and outbox rows.

Allowed moves: valid -> suspended | revoked; suspended -> valid (reinstate) | revoked. Revoked
(and the other terminal statuses: replaced, cancelled, superseded) is final. The reason is
required, because it is what the holder is told (Chinese text).
"""

from __future__ import annotations

import re

from govcred.core import models
from govcred.core.accounts.factors import require_recent_factor
from govcred.core.accounts.officers import Principal, require_role
from govcred.core.claims import COUNTY, ID_MASKED, NAME_MASKED
from govcred.core.exceptions import Conflict, ErrorList
from govcred.core.services.collaborators import Collaborators
from govcred.core.services.status_change import apply_status_change

#: Actions officers take, by the status they lead to.
ACTIONS = {"revoke": models.REVOKED, "suspend": models.SUSPENDED, "reinstate": models.VALID}
_ALLOWED_FROM = {
    models.REVOKED: (models.VALID, models.SUSPENDED),
    models.SUSPENDED: (models.VALID,),
    models.VALID: (models.SUSPENDED,),
}
#: Who may change a credential's status.
STATUS_ROLES = ("reviewer", "admin")
MAX_REASON_CHARS = 500
_HAN = re.compile(r"[\u3400-\u9fff]")


def _check_request(new_status: str, reason: str) -> str:
    errors = ErrorList()
    if not isinstance(new_status, str) or new_status not in _ALLOWED_FROM:
        errors.add("status", "STATUS_INVALID", f"状态只能是 {', '.join(_ALLOWED_FROM)} 之一")
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        errors.add("reason", "REQUIRED", "请填写变更原因（将告知持证人）")
    elif len(reason) > MAX_REASON_CHARS:
        errors.add("reason", "TOO_LONG", f"变更原因最多 {MAX_REASON_CHARS} 个字符")
    elif not _HAN.search(reason):  # the holder reads it: it is written in Chinese
        errors.add("reason", "NOT_CHINESE", "变更原因请用中文填写（将告知持证人）")
    errors.raise_if_any()
    return reason


def change_status(
    deps: Collaborators, credential_id: str, new_status: str, *, reason: str, principal: Principal
) -> models.Credential:
    """Move a credential to ``new_status``; the list revision, audit entry and outbox rows
    (from ``govcred_credential_status_changed`` and ``govcred_notify``) commit together or not at all."""
    require_role(principal, *STATUS_ROLES)
    require_recent_factor(principal, deps.clock.now())
    reason = _check_request(new_status, reason)
    now = deps.clock.now()
    with deps.uow() as uow:
        credential = uow.credentials.get(credential_id, for_update=True)
        old_status = credential.status
        if old_status not in _ALLOWED_FROM[new_status]:
            raise Conflict(_refusal(old_status, new_status), code="STATUS_TRANSITION_INVALID")
        application = uow.applications.get(credential.application_id)
        apply_status_change(
            uow,
            deps,
            [(credential, application)],
            new_status,
            reason=reason,
            now=now,
            actor=principal.audit_actor,
            role=principal.role,
            action=f"credential.{_action_of(old_status, new_status)}",
            details={"from": old_status, "to": new_status, "reason": reason},
        )
        uow.commit()
    return credential


def _action_of(old_status: str, new_status: str) -> str:
    if new_status == models.VALID:
        return "reinstated"
    return "revoked" if new_status == models.REVOKED else "suspended"


def _refusal(old_status: str, new_status: str) -> str:
    """Why the move is refused, with the statuses in Chinese: it said "证件状态为 replaced，不能
    变为 suspended（吊销为最终状态）" for a replaced permit, in English words and naming the wrong
    final state."""
    old_zh = models.credential_status_zh(old_status)
    if old_status == new_status:
        return f"证件已是“{old_zh}”状态"
    if new_status == models.VALID:
        return "只有已中止的证件可以恢复"
    new_zh = models.credential_status_zh(new_status)
    return f"证件状态为“{old_zh}”，不能变为“{new_zh}”（“{old_zh}”为最终状态）"


def credential_view(credential: models.Credential, issuer: str) -> dict:
    """What officers see of a credential (no token, no personal data beyond the masked claims)."""
    from govcred.core.status import status_list_uri

    claims = credential.claims or {}
    return {
        "id": credential.id,
        "permit_no": credential.permit_no,
        "version": credential.version,
        "credential_type": credential.credential_type,
        "status": credential.status,
        "status_reason": credential.status_reason,
        "status_changed_at": credential.status_changed_at.isoformat() if credential.status_changed_at else None,
        "issued_at": credential.issued_at.isoformat(),
        "not_before": credential.not_before.isoformat(),
        "expires_at": credential.expires_at.isoformat(),
        "kid": credential.kid,
        "name_masked": claims.get(NAME_MASKED, ""),
        "id_masked": claims.get(ID_MASKED, ""),
        "county": claims.get(COUNTY, ""),
        "status_list": {"idx": credential.status_idx, "uri": status_list_uri(issuer, credential.status_list_id)},
    }
