"""The permit after issue: yearly endorsement (签注), replacement (换领/补领), cancellation
(注销), reminder choices and what holders and officers see of a permit.

Each use case runs in ONE unit of work: the new credential, the old one's status, the
status-list revision, the audit entries and the outbox rows commit together or not at all.

Versions of one permit share ``permit_no``. An endorsement issues version n+1 (new ``jti``,
``exp`` = the next lapse the plugin computes) and marks version n ``superseded``: its status
stays 0 on the list, so a token the holder already printed or cached keeps verifying until
its own ``exp``. A late endorsement (the permit lapsed, usually suspended by the sweep)
reinstates the permit the same way and restarts its continuous-residence start on the
endorsement day (暂行条例 art. 10: 居住年限自补办签注手续之日起连续计算).

A replacement (换领 a damaged card, 补领 a lost one) issues a new credential under a NEW
permit number -- the holder, residence start and endorsement cycle stay -- and marks the old
one ``replaced`` (invalid on the list): a lost card must stop verifying at once. A
cancellation (注销: the holder obtained local hukou or left the county) marks the permit
``cancelled``. Both also invalidate superseded versions whose tokens have not expired yet.

Who may do what: residents act online on their own permits; clerks (and admins) act at the
window; cancellation is a reviewer's or admin's decision. An officer who endorses, replaces
or cancels needs a sign-in factor from the last 10 minutes (:mod:`govcred.core.accounts.factors`).
Endorsement is free and needs no new photo (暂行条例 art. 21).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from govcred.core import models
from govcred.core.accounts.factors import require_recent_factor
from govcred.core.accounts.officers import Principal, require_role
from govcred.core.clock import BEIJING
from govcred.core.exceptions import AuthenticationRequired, Conflict, ErrorList, NotFound
from govcred.core.services.collaborators import Collaborators
from govcred.core.services.documents import validate_document
from govcred.core.services.eligibility import evaluate_in
from govcred.core.services.intake import check_channel
from govcred.core.services.issuance import issue_credential
from govcred.core.services.permit_cycle import MISSED_ENDORSEMENT, endorsement_window
from govcred.core.services.reminders import check_choice, date_zh, preferences
from govcred.core.services.replay import record_basis
from govcred.core.services.status_change import apply_status_change

ENDORSEMENT, REPLACEMENT = "endorsement", "replacement"
CANCEL_ROLES = ("reviewer", "admin")
OFFICER_VIEW_ROLES = ("clerk", "reviewer", "admin")
REPLACEMENT_REASONS = {"damaged": "换领（证件损坏）", "lost": "补领（证件丢失）"}
CANCEL_REASONS = {"local_hukou": "持证人已取得本地常住户口", "left_county": "持证人已离开本县居住"}
MAX_NOTE_CHARS = 200


@dataclass(frozen=True)
class Endorsement:
    credential: models.Credential
    previous: models.Credential
    late: bool
    application: models.Application


# ---- shared steps --------------------------------------------------------------------------


def _current_version(uow, permit_no: str, principal: Principal) -> models.Credential:
    """The permit's newest version, locked; residents only find their own (404 otherwise)."""
    credential = uow.credentials.current_version(
        permit_no, owner_id=principal.id if principal.kind == "resident" else None
    )
    if credential is None:
        raise NotFound("未找到该居住证", code="PERMIT_NOT_FOUND")
    return credential


def _today(now: dt.datetime) -> dt.date:
    return now.astimezone(BEIJING).date()


def _window_text(window: tuple[dt.date, dt.date]) -> str:
    return f"签注办理期为 {date_zh(window[0])}至{date_zh(window[1])}"


def _change_status(
    deps: Collaborators,
    uow,
    credential: models.Credential,
    application: models.Application,
    new_status: str,
    reason: str,
    now: dt.datetime,
    *,
    actor: str,
    role: str,
) -> None:
    """Status, list revision, audit entry and the plugins' outbox rows, in the caller's transaction."""
    apply_status_change(
        uow,
        deps,
        [(credential, application)],
        new_status,
        reason=reason,
        now=now,
        actor=actor,
        role=role,
        action=f"credential.{new_status}",
        details={"from": credential.status, "to": new_status, "permit_no": credential.permit_no},
    )


def _invalidate_older_versions(
    deps: Collaborators,
    uow,
    current: models.Credential,
    new_status: str,
    reason: str,
    now: dt.datetime,
    *,
    actor: str,
    role: str,
) -> None:
    """Superseded versions whose tokens are still within their ``exp`` stop verifying too."""
    for credential in uow.credentials.live_superseded(current, now):
        application = uow.applications.get(credential.application_id)
        _change_status(deps, uow, credential, application, new_status, reason, now, actor=actor, role=role)


def _follow_up_application(
    original: models.Application, kind: str, document: dict, channel: str, principal: Principal, now: dt.datetime
) -> models.Application:
    """An application of ``kind`` for the holder of ``original``, accepted at once (no deadline runs:
    it is decided in the same transaction)."""
    app = models.Application(
        schema=original.schema,
        channel=channel,
        document=document,
        kind=kind,
        owner_id=original.owner_id,
        created_by=principal.id if principal.kind == "officer" else None,
        subject_name_masked=original.subject_name_masked,
        subject_id_masked=original.subject_id_masked,
        subject_index=original.subject_index,
        phone_index=original.phone_index,
        county=original.county,
        created_at=now,
    )
    app.submit(now)
    app.accept(now, now, False)
    return app


def _issue(
    deps: Collaborators, uow, app, decision, context, key, now, previous, principal, **new_permit
) -> models.Credential:
    context.extra["previous_credential"] = previous
    credential = issue_credential(
        deps,
        uow,
        app,
        decision,
        context,
        key,
        now,
        actor=principal.audit_actor,
        role=principal.role or principal.kind,
        **new_permit,
    )
    credential.residence_start = context.extra.get("residence_start")
    return credential


# ---- endorsement ---------------------------------------------------------------------------


def _endorsable(deps: Collaborators, credential: models.Credential, now: dt.datetime) -> bool:
    """Whether the endorsement is late; raises when the permit cannot be endorsed now."""
    window = endorsement_window(deps.credential_types, credential)
    if window is None:
        raise Conflict("该证件无需签注", code="ENDORSEMENT_NOT_APPLICABLE")
    lapsed = credential.expires_at <= now
    if credential.status == models.SUSPENDED and credential.status_reason != MISSED_ENDORSEMENT:
        # an officer's suspension (data being checked) is lifted by an officer, not by endorsing
        raise Conflict(
            f"证件已被中止使用（{credential.status_reason}），请到受理窗口咨询", code="PERMIT_SUSPENDED_BY_OFFICER"
        )
    if credential.status not in (models.VALID, models.SUSPENDED):
        raise Conflict(
            f"证件状态为“{models.credential_status_zh(credential.status)}”，不能办理签注", code="PERMIT_NOT_ENDORSABLE"
        )
    if not lapsed and _today(now) < window[0]:
        raise Conflict(
            f"尚未到签注办理期：{_window_text(window)}",
            code="OUTSIDE_ENDORSEMENT_WINDOW",
            window_start=window[0].isoformat(),
            window_end=window[1].isoformat(),
        )
    return lapsed


def request_endorsement(
    deps: Collaborators, permit_no: str, principal: Principal | None, channel: str, *, conditions: list | None = None
) -> Endorsement:
    """Endorse the permit: re-check the conditions, then re-issue it (same permit, version n+1).

    ``conditions`` replaces the conditions of the original application when the holder's
    employment, residence or schooling changed (the whole document is validated again).

    :raises Conflict: ``OUTSIDE_ENDORSEMENT_WINDOW`` (the message names the window),
        ``ENDORSEMENT_REFUSED`` with every finding in ``details["findings"]`` (the refusal
        itself is recorded and the holder notified), or a status that cannot be endorsed.
    """
    principal = check_channel(principal, channel)
    require_recent_factor(principal, deps.clock.now())  # an officer's; residents are not asked
    key = deps.keys.active_key()  # decrypted outside the write transaction
    now = deps.clock.now()
    with deps.uow() as uow:
        previous = _current_version(uow, permit_no, principal)
        late = _endorsable(deps, previous, now)
        original = uow.applications.get(previous.application_id)
        document = dict(original.document)
        if conditions is not None:
            document["conditions"] = conditions
            validate_document(deps.credential_types, document)
        app = _follow_up_application(original, ENDORSEMENT, document, channel, principal, now)
        uow.applications.add(app)
        uow.flush()
        findings, context = evaluate_in(deps, uow, app, _today(now))
        blocking = [f for f in findings if f.blocking]
        app.decide(not blocking, now)
        decision = models.Decision(
            application_id=app.id,
            approved=not blocking,
            findings=[f.as_dict() for f in findings],
            officer_reasons=[],
            reviewer_id=principal.id if principal.kind == "officer" else None,
            decided_at=now,
        )
        uow.decisions.add(decision)
        record_basis(deps, uow, decision, app, context)
        actor, role = principal.audit_actor, principal.role or principal.kind
        if blocking:
            uow.audit.append(
                actor=actor,
                role=role,
                action="permit.endorsement_refused",
                object_type="credential",
                object_id=previous.id,
                details={"codes": [f.code for f in blocking]},
            )
            deps.pm.hook.govcred_application_decided(application=app, decision=decision, outbox=uow.outbox)
            deps.notifier.decided(uow.outbox, app, decision)
            uow.commit()
            raise Conflict(
                "不再符合居住证申领条件，不予签注", code="ENDORSEMENT_REFUSED", findings=[f.as_dict() for f in findings]
            )
        context.extra.update(late=late, residence_start=_today(now) if late else previous.residence_start)
        _change_status(
            deps,
            uow,
            previous,
            original,
            models.SUPERSEDED,
            "已补办签注，由新版本替代" if late else "已签注，由新版本替代",
            now,
            actor=actor,
            role=role,
        )
        credential = _issue(
            deps,
            uow,
            app,
            decision,
            context,
            key,
            now,
            previous,
            principal,
            permit_no=previous.permit_no,
            version=previous.version + 1,
        )
        uow.audit.append(
            actor=actor,
            role=role,
            action="permit.endorsed",
            object_type="credential",
            object_id=credential.id,
            details={
                "permit_no": credential.permit_no,
                "version": credential.version,
                "late": late,
                "residence_start": str(credential.residence_start or ""),
            },
        )
        deps.pm.hook.govcred_application_decided(application=app, decision=decision, outbox=uow.outbox)
        deps.notifier.decided(uow.outbox, app, decision)
        deps.pm.hook.govcred_credential_issued(
            credential=credential, application=app, subject=deps.credential_types.subject_of(app), outbox=uow.outbox
        )
        deps.notifier.issued(uow.outbox, credential, app)
        uow.commit()
    return Endorsement(credential, previous, late, app)


# ---- replacement and cancellation -------------------------------------------------------------


def replace_permit(
    deps: Collaborators, permit_no: str, principal: Principal | None, channel: str, *, reason: str
) -> models.Credential:
    """换领 (``damaged``) or 补领 (``lost``): a new credential under a new permit number and the
    old one ``replaced``, in one transaction. Only a permit in use can be replaced."""
    principal = check_channel(principal, channel)
    require_recent_factor(principal, deps.clock.now())
    if not isinstance(reason, str) or reason not in REPLACEMENT_REASONS:  # a list from JSON is unhashable
        errors = ErrorList()
        errors.add("reason", "REASON_INVALID", "换领/补领原因须为 damaged（损坏）或 lost（丢失）")
        errors.raise_if_any()
    key = deps.keys.active_key()
    now = deps.clock.now()
    with deps.uow() as uow:
        previous = _current_version(uow, permit_no, principal)
        if previous.status != models.VALID or previous.expires_at <= now:
            hint = "请先办理签注" if previous.status in (models.VALID, models.SUSPENDED) else "不能换领、补领"
            raise Conflict(
                f"证件状态为“{models.credential_status_zh(previous.status)}”，{hint}", code="PERMIT_NOT_REPLACEABLE"
            )
        original = uow.applications.get(previous.application_id)
        app = _follow_up_application(original, REPLACEMENT, dict(original.document), channel, principal, now)
        uow.applications.add(app)
        uow.flush()
        app.decide(True, now)
        decision = models.Decision(
            application_id=app.id,
            approved=True,
            findings=[],
            officer_reasons=[],
            reviewer_id=principal.id if principal.kind == "officer" else None,
            decided_at=now,
        )
        uow.decisions.add(decision)
        context = models.EligibilityContext(
            as_of=_today(now),
            records=models.PersonRecords(source="none"),
            settings=deps.settings,
            extra={"residence_start": previous.residence_start, "late": False},
        )
        actor, role = principal.audit_actor, principal.role or principal.kind
        text = REPLACEMENT_REASONS[reason]
        _change_status(deps, uow, previous, original, models.REPLACED, text, now, actor=actor, role=role)
        _invalidate_older_versions(deps, uow, previous, models.REPLACED, text, now, actor=actor, role=role)
        credential = _issue(deps, uow, app, decision, context, key, now, previous, principal)
        chosen = preferences(uow, [previous.permit_no])[previous.permit_no]
        uow.reminder_choices.store(credential.permit_no, check_choice(list(chosen)), actor=actor, now=now)
        uow.audit.append(
            actor=actor,
            role=role,
            action="permit.replaced",
            object_type="credential",
            object_id=credential.id,
            details={"old_permit_no": previous.permit_no, "permit_no": credential.permit_no, "reason": reason},
        )
        deps.pm.hook.govcred_application_decided(application=app, decision=decision, outbox=uow.outbox)
        deps.notifier.decided(uow.outbox, app, decision)
        deps.pm.hook.govcred_credential_issued(
            credential=credential, application=app, subject=deps.credential_types.subject_of(app), outbox=uow.outbox
        )
        deps.notifier.issued(uow.outbox, credential, app)
        uow.commit()
    return credential


def cancel_permit(
    deps: Collaborators, permit_no: str, principal: Principal | None, *, reason: str, note: str = ""
) -> models.Credential:
    """注销: the holder obtained local hukou (``local_hukou``) or left the county (``left_county``)."""
    require_role(principal, *CANCEL_ROLES)
    require_recent_factor(principal, deps.clock.now())
    errors = ErrorList()
    if not isinstance(reason, str) or reason not in CANCEL_REASONS:  # a list from JSON is unhashable
        errors.add("reason", "REASON_INVALID", "注销原因须为 local_hukou（已取得本地户口）或 left_county（已离开本县）")
    note = note.strip() if isinstance(note, str) else ""
    if len(note) > MAX_NOTE_CHARS:
        errors.add("note", "TOO_LONG", f"备注最多 {MAX_NOTE_CHARS} 个字符")
    errors.raise_if_any()
    text = CANCEL_REASONS[reason] + (f"（{note}）" if note else "")
    now = deps.clock.now()
    with deps.uow() as uow:
        current = _current_version(uow, permit_no, principal)
        if current.status not in (models.VALID, models.SUSPENDED):
            raise Conflict(
                f"证件状态为“{models.credential_status_zh(current.status)}”，不能注销", code="PERMIT_NOT_CANCELLABLE"
            )
        application = uow.applications.get(current.application_id)
        actor, role = principal.audit_actor, principal.role
        _change_status(deps, uow, current, application, models.CANCELLED, text, now, actor=actor, role=role)
        _invalidate_older_versions(deps, uow, current, models.CANCELLED, text, now, actor=actor, role=role)
        uow.commit()
    return current


# ---- reminders and views --------------------------------------------------------------------------


def set_reminders(
    deps: Collaborators, permit_no: str, principal: Principal | None, reminders: Sequence[str]
) -> list[str]:
    """The holder (online) or a clerk (at the window) chooses the reminders of a permit."""
    if principal is None:
        raise AuthenticationRequired("请先登录")
    if principal.kind != "resident":
        require_role(principal, "clerk", "admin")
    chosen = check_choice(reminders)
    now = deps.clock.now()
    with deps.uow() as uow:
        current = _current_version(uow, permit_no, principal)
        uow.reminder_choices.store(current.permit_no, chosen, actor=principal.audit_actor, now=now)
        uow.audit.append(
            actor=principal.audit_actor,
            role=principal.role or principal.kind,
            action="permit.reminders_set",
            object_type="credential",
            object_id=current.id,
            details={"reminders": chosen},
        )
        uow.commit()
    return chosen


def _version_view(credential: models.Credential) -> dict[str, Any]:
    return {
        "id": credential.id,
        "version": credential.version,
        "status": credential.status,
        "status_reason": credential.status_reason,
        "status_changed_at": credential.status_changed_at.isoformat() if credential.status_changed_at else None,
        "issued_at": credential.issued_at.isoformat(),
        "expires_at": credential.expires_at.isoformat(),
        "residence_start": credential.residence_start.isoformat() if credential.residence_start else None,
    }


def permit_view(deps: Collaborators, permit_no: str, principal: Principal | None) -> dict[str, Any]:
    """A permit's status, its next endorsement window and its history, newest version first."""
    if principal is None:
        raise AuthenticationRequired("请先登录")
    if principal.kind != "resident":
        require_role(principal, *OFFICER_VIEW_ROLES)
    with deps.uow(readonly=True) as uow:
        versions = uow.credentials.versions(permit_no, owner_id=principal.id if principal.kind == "resident" else None)
        if not versions:
            raise NotFound("未找到该居住证", code="PERMIT_NOT_FOUND")
        chosen = preferences(uow, [permit_no])[permit_no]
        return _permit_summary(deps, permit_no, versions, chosen)


def _permit_summary(
    deps: Collaborators, permit_no: str, versions: Sequence[models.Credential], chosen: frozenset[str]
) -> dict[str, Any]:
    current = versions[0]
    in_use = current.status in (models.VALID, models.SUSPENDED)
    window = endorsement_window(deps.credential_types, current) if in_use else None
    now = deps.clock.now()
    return {
        "permit_no": permit_no,
        "status": current.status,
        "lapsed": current.expires_at <= now,
        "residence_start": current.residence_start.isoformat() if current.residence_start else None,
        "endorsement_window": {
            "start": window[0].isoformat(),
            "end": window[1].isoformat(),
            "text": _window_text(window),
            "open": window[0] <= _today(now),
        }
        if window
        else None,
        "reminders": sorted(chosen),
        "history": [_version_view(v) for v in versions],
    }


QUEUES = ("window_open", "suspended")
#: How far ahead of a permit's lapse the officer queue looks for open windows.
QUEUE_LOOKAHEAD = dt.timedelta(days=62)
MAX_QUEUE = 500


def permit_queue(deps: Collaborators, principal: Principal | None, *, queue: str) -> list[dict[str, Any]]:
    """Officers' list: permits whose endorsement window is open (soonest lapse first), or permits
    suspended for a missed endorsement (longest suspended first); at most ``MAX_QUEUE``."""
    from govcred.core.claims import ID_MASKED, NAME_MASKED

    require_role(principal, *OFFICER_VIEW_ROLES)
    if queue not in QUEUES:
        errors = ErrorList()
        errors.add("queue", "QUEUE_INVALID", f"queue 只能是 {' 或 '.join(QUEUES)}")
        errors.raise_if_any()
    now = deps.clock.now()
    with deps.uow(readonly=True) as uow:
        if queue == "suspended":
            found = uow.credentials.suspended_for(MISSED_ENDORSEMENT, limit=MAX_QUEUE)
        else:
            found = uow.credentials.lapsing_within(now, QUEUE_LOOKAHEAD, limit=MAX_QUEUE)
        rows = []
        for credential in found:
            window = endorsement_window(deps.credential_types, credential)
            if queue == "window_open" and (window is None or window[0] > _today(now)):
                continue
            rows.append(
                {
                    "permit_no": credential.permit_no,
                    "version": credential.version,
                    "status": credential.status,
                    "name_masked": credential.claims.get(NAME_MASKED, ""),
                    "id_masked": credential.claims.get(ID_MASKED, ""),
                    "expires_at": credential.expires_at.isoformat(),
                    "status_changed_at": credential.status_changed_at.isoformat()
                    if credential.status_changed_at
                    else None,
                    "endorsement_window": {"start": window[0].isoformat(), "end": window[1].isoformat()}
                    if window
                    else None,
                }
            )
    return rows
