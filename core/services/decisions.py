"""Decisions: the reviewers' queue, and a reviewer approving (issuing the credential) or
rejecting an application.

Reviewers (and admins) decide, never on an application they entered themselves (four eyes),
and only with a sign-in factor from the last 10 minutes (checked here, whatever the channel).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from govcred.core import models
from govcred.core.accounts.factors import require_recent_factor
from govcred.core.accounts.officers import Principal, require_role
from govcred.core.exceptions import (
    Conflict,
    ErrorList,
    FieldError,
    KeyStoreError,
    PermissionDenied,
    ValidationError,
)
from govcred.core.repository.held import transient
from govcred.core.services.collaborators import Collaborators
from govcred.core.services.eligibility import evaluate_in
from govcred.core.services.intake import commit_application_change
from govcred.core.services.issuance import issue_credential
from govcred.core.services.replay import record_basis

DECIDING_ROLES = ("reviewer", "admin")
MAX_OFFICER_REASONS = 20
MAX_REASON_CHARS = 500


def checked_reasons(reasons: Sequence[str]) -> list[str]:
    errors = ErrorList()
    if isinstance(reasons, str) or len(reasons) > MAX_OFFICER_REASONS:
        errors.add("reasons", "REASONS_INVALID", f"理由应为最多 {MAX_OFFICER_REASONS} 条文字的列表")
        errors.raise_if_any()
    cleaned = []
    for i, reason in enumerate(reasons):
        if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON_CHARS:
            errors.add(f"reasons[{i}]", "REASON_INVALID", f"每条理由须为 1 至 {MAX_REASON_CHARS} 个字")
        else:
            cleaned.append(reason.strip())
    errors.raise_if_any()
    return cleaned


def decide(
    deps: Collaborators,
    app_id: str,
    *,
    approve: bool,
    principal: Principal,
    officer_reasons: Sequence[str] = (),
    expected_version: int | None = None,
) -> models.Decision:
    """Approve (issuing the credential) or reject an application, in one transaction.

    Re-evaluates every rule; approval with a blocking finding is refused, and a rejection
    records every blocking finding (一次性告知) plus the officer's own reasons. A refused
    attempt leaves a failure entry in the audit log.
    """
    require_role(principal, *DECIDING_ROLES)
    require_recent_factor(principal, deps.clock.now())
    reasons = checked_reasons(officer_reasons)
    # the key last used, checked inside the decision's transaction rather than in one of its own
    # (a second session, connection check and round trips a decision); a changed one is read
    # and decrypted outside the write transaction, and the decision made again
    key = deps.keys.held_key() if approve else None
    try:
        for _ in range(_KEY_CHANGES):
            try:
                return _decide(deps, app_id, approve, principal, reasons, expected_version, key)
            except _KeyChanged:
                key = deps.keys.active_key()
        raise KeyStoreError("签名密钥正在频繁更换，请稍后重试", code="SIGNING_KEY_CHANGING")
    except (Conflict, PermissionDenied) as exc:
        with deps.uow() as uow:
            uow.audit.append(
                actor=principal.audit_actor,
                role=principal.role,
                action="application.decide",
                object_type="application",
                object_id=app_id,
                outcome="failure",
                details={"code": exc.code, "approve": bool(approve)},
            )
            uow.commit()
        raise


#: times a decision is tried with a newly read key before it gives up (a rotation is rare)
_KEY_CHANGES = 3


class _KeyChanged(Exception):
    """The key held for signing is no longer the active one (rotated or revoked elsewhere)."""


def _decide(deps: Collaborators, app_id, approve, principal, reasons, expected_version, key) -> models.Decision:
    now = deps.clock.now()
    with deps.uow() as uow:
        app = uow.applications.get(app_id, for_update=True)
        if key is not None and not deps.keys.still_active(uow, key):
            raise _KeyChanged
        if app.created_by is not None and app.created_by == principal.id:
            raise PermissionDenied("录入该申请的工作人员不能审批同一申请（双人复核）", code="FOUR_EYES")
        if expected_version is not None and expected_version != app.version:
            raise Conflict("该申请已被其他工作人员修改，请刷新后重试", code="APPLICATION_CHANGED")
        decidable = (models.ACCEPTED,) if approve else (models.SUBMITTED, models.ACCEPTED)
        if app.state not in decidable:  # before evaluating: a decided application is not re-judged
            raise Conflict(
                f"申请状态为“{models.state_zh(app.state)}”，不能{'批准' if approve else '不予批准'}",
                code="INVALID_STATE",
            )
        findings, context = evaluate_in(deps, uow, app, None)
        blocking = [f for f in findings if f.blocking]
        if approve and blocking:
            raise Conflict(
                "存在不符合条件的情形，不能批准",
                code="BLOCKING_FINDINGS_PRESENT",
                findings=[f.as_dict() for f in blocking],
            )
        if not approve and not blocking and not reasons:
            raise ValidationError(
                [FieldError("reasons", "REASON_REQUIRED", "未发现不符合条件的情形，不予批准须写明理由")]
            )
        try:
            # its rows written together at the end (a statement a table, not one a row): the
            # fewer round trips, the less each decision costs the process and the database
            with uow.held_writes():
                decision = record_decision(deps, uow, app, findings, context, approve, principal, reasons, key, now)
            commit_application_change(uow)
        except IntegrityError:
            raise Conflict("该申请已有审批结果", code="ALREADY_DECIDED") from None
        except StaleDataError:
            raise Conflict("该申请已被其他工作人员修改，请刷新后重试", code="APPLICATION_CHANGED") from None
    return decision


def record_decision(
    deps: Collaborators, uow, app, findings, context, approve: bool, principal: Principal, reasons, key, now
) -> models.Decision:
    """The decision row, the credential on approval, their audit entries and outbox rows, in
    the caller's transaction (one decision at a time, or a batch: core/services/batch_decisions.py)."""
    blocking = [f for f in findings if f.blocking]
    app.decide(approve, now)
    uow.applications.decided(app)
    decision = transient(
        models.Decision,
        {
            "application_id": app.id,
            "approved": approve,
            "findings": [f.as_dict() for f in findings],
            "officer_reasons": reasons,
            "reviewer_id": principal.id,
            "decided_at": now,
        },
    )
    uow.decisions.add(decision)
    record_basis(deps, uow, decision, app, context)
    actor, role = principal.audit_actor, principal.role
    for i, reason in enumerate(reasons):
        uow.audit.append(
            actor=actor,
            role=role,
            action="decision.officer_reason",
            object_type="application",
            object_id=app.id,
            details={"index": i, "chars": len(reason)},
        )
    credential = issue_credential(deps, uow, app, decision, context, key, now) if approve else None
    uow.audit.append(
        actor=actor,
        role=role,
        action="application.approved" if approve else "application.rejected",
        object_type="application",
        object_id=app.id,
        details={
            "codes": [f.code for f in blocking],
            "officer_reasons": len(reasons),
            "credential": credential.id if credential else None,
        },
    )
    deps.pm.hook.govcred_application_decided(application=app, decision=decision, outbox=uow.outbox)
    deps.notifier.decided(uow.outbox, app, decision)
    if credential is not None:
        deps.pm.hook.govcred_credential_issued(
            credential=credential, application=app, subject=deps.credential_types.subject_of(app), outbox=uow.outbox
        )
        deps.notifier.issued(uow.outbox, credential, app)
    return decision
