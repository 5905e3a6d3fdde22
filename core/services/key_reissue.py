"""Re-issuing what a compromised signing key signed (``govcred credential reissue --signed-by KID``,
run at once by ``govcred keys revoke --compromised``).

Revoking a key makes every verifier refuse its tokens (KEY_REVOKED), yet the permits they carry
are still valid in law. Each one in use (valid or suspended, within its ``exp``, the permit's
newest version) is signed again with the active key as version n+1 of the same permit: the
same permit number, claims, validity and status, a new ``jti`` and status-list slot. Version
n becomes ``superseded`` like an endorsed version, with a reason saying why; its token fails
anyway, its key being revoked.

Each chunk is one transaction (set-based, :meth:`UnitOfWork.held_writes`): the old versions
superseded, the new ones stored, one audit entry per credential, and the outbox rows of the
plugins: the new record for the provincial platform (``govcred_credential_issued``, after the
old version's ``superseded``) and the holder's notice (``reissued``). A re-issued permit no
longer matches, so a crashed run resumes where it stopped and a second run re-issues nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from govcred.core import models
from govcred.core.accounts.factors import require_recent_factor
from govcred.core.accounts.officers import Principal, require_role
from govcred.core.claims import STATUS
from govcred.core.exceptions import Conflict, ErrorList, NotFound
from govcred.core.services.batch_decisions import collection_paused
from govcred.core.services.collaborators import Collaborators
from govcred.core.services.issuance import compact_id
from govcred.core.services.status_change import apply_status_change
from govcred.core.status import status_claim
from govcred.core.tokens import CREDENTIAL, issue_token

REISSUE_ROLES = ("admin",)
DEFAULT_CHUNK = 200
MAX_CHUNK = 1000
#: The old version's status reason (the holder's history shows it).
SUPERSEDED_REASON = "签名密钥因安全原因停用，已重新签发（证号、内容和有效期不变）"


def follow_up_command(kid: str) -> str:
    """What an administrator runs to finish (or resume) the re-issue of ``kid``'s credentials."""
    return f"govcred credential reissue --signed-by {kid}"


@dataclass
class ReissueReport:
    kid: str
    signed_with: str | None = None
    transactions: int = 0
    reissued: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "signed_by": self.kid,
            "signed_with": self.signed_with,
            "reissued": len(self.reissued),
            "transactions": self.transactions,
            "credentials": self.reissued,
        }


def reissue_signed_by(
    deps: Collaborators, principal: Principal, kid: str, *, chunk: int = DEFAULT_CHUNK
) -> ReissueReport:
    """Sign again, with the active key, every permit in use whose newest version ``kid`` signed.

    :raises NotFound: ``KEY_NOT_FOUND``.
    :raises Conflict: ``KEY_NOT_REVOKED``: only a revoked key's credentials are re-issued (a
        retired key's still verify; an active key would sign them again with itself).
    """
    require_role(principal, *REISSUE_ROLES)
    require_recent_factor(principal, deps.clock.now())
    if isinstance(chunk, bool) or not isinstance(chunk, int) or not 1 <= chunk <= MAX_CHUNK:
        errors = ErrorList()
        errors.add("chunk", "CHUNK_INVALID", f"chunk 须为 1 至 {MAX_CHUNK} 的整数")
        errors.raise_if_any()
    with deps.uow(readonly=True) as uow:
        row = uow.signing_keys.get(kid)
    if row is None:
        raise NotFound(f"没有签名密钥 {kid}（见 govcred keys list）", code="KEY_NOT_FOUND")
    if row["revoked_at"] is None:
        raise Conflict(f"签名密钥 {kid} 未被吊销，其签发的证件仍可核验，无需重新签发", code="KEY_NOT_REVOKED")
    key = deps.keys.active_key()  # decrypted once, outside the write transactions
    report = ReissueReport(kid, key.kid)
    after: str | None = None
    while True:
        with collection_paused():
            after = _reissue_chunk(deps, principal, kid, key, chunk, after, report)
        if after is None:
            return report


def _reissue_chunk(
    deps: Collaborators, principal: Principal, kid: str, key, chunk: int, after: str | None, report: ReissueReport
) -> str | None:
    """One transaction: up to ``chunk`` permits past the cursor ``after`` (their ids, so a chunk
    that could not be re-issued is never read again in this run); the last id, None when done."""
    now = deps.clock.now()
    actor, role = principal.audit_actor, principal.role
    with deps.uow() as uow:
        previous = uow.credentials.live_newest_signed_by(kid, now, after=after, limit=chunk)
        if not previous:
            return None
        apps = uow.applications.by_ids(c.application_id for c in previous)
        with uow.held_writes():
            renewed = [_signed_again(deps, uow, old, key, now) for old in previous]
            uow.status_lists.bump_revision({c.status_list_id for c in renewed}, now)  # suspended ones show
            apply_status_change(
                uow,
                deps,
                [(old, apps[old.application_id]) for old in previous],
                models.SUPERSEDED,
                reason=SUPERSEDED_REASON,
                now=now,
                actor=actor,
                role=role,
                action="credential.superseded",
                object_type="credential_batch",
                object_id=f"reissue:{kid}:{previous[0].id}",
                details={"reason": "key_revoked", "kid": kid, "credentials": [c.id for c in previous]},
            )
            for old, new in zip(previous, renewed):
                app = apps[old.application_id]
                uow.credentials.add(new)
                uow.audit.append(
                    actor=actor,
                    role=role,
                    action="credential.reissued",
                    object_type="credential",
                    object_id=new.id,
                    details={
                        "permit_no": new.permit_no,
                        "version": new.version,
                        "previous": old.id,
                        "revoked_kid": kid,
                        "kid": key.kid,
                        "status_list": new.status_list_id,
                    },
                )
                deps.pm.hook.govcred_credential_issued(
                    credential=new, application=app, subject=deps.credential_types.subject_of(app), outbox=uow.outbox
                )
                deps.notifier.reissued(uow.outbox, new, app)
            uow.signing_keys.extend_verify_until(key.kid, max(c.expires_at for c in renewed))
        uow.commit()
    report.transactions += 1
    report.reissued.extend(
        {"permit_no": new.permit_no, "version": new.version, "credential": new.id, "previous": old.id}
        for old, new in zip(previous, renewed)
    )
    return previous[-1].id


def _signed_again(deps: Collaborators, uow, old: models.Credential, key, now: dt.datetime) -> models.Credential:
    """Version n+1 of ``old``: its claims, validity and status, a new jti, slot and signature."""
    list_id, idx = deps.allocator.status_index(uow, size=deps.settings.status_list_size, now=now)
    credential_id = compact_id()
    claims = {
        **old.claims,
        "jti": credential_id,
        "iat": int(now.timestamp()),
        STATUS: status_claim(deps.settings.issuer, list_id, idx),
    }
    return models.Credential(
        version=old.version + 1,
        application_id=old.application_id,
        permit_no=old.permit_no,
        credential_type=old.credential_type,
        subject_index=old.subject_index,
        issued_at=now,
        not_before=old.not_before,
        expires_at=old.expires_at,
        kid=key.kid,
        token=issue_token(CREDENTIAL, claims, key, clock=deps.clock),
        claims=claims,
        status_list_id=list_id,
        status_idx=idx,
        id=credential_id,
        # a suspended permit stays suspended, from the same day (its reminders keep their dates)
        status=old.status,
        status_reason=old.status_reason,
        status_changed_at=old.status_changed_at,
        residence_start=old.residence_start,
        owner_id=old.owner_id,
    )
