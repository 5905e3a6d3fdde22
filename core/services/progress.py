"""公开办件进度查询: anyone with an application's 办件编号 asks for a code, which goes by SMS to
the phone the application names; the code opens a short, read-only look-up of the progress.
No account is needed.

The codes are the resident sign-in codes' (:mod:`govcred.core.accounts.login_codes`): bound
to their ``code_id`` and to the reference's keyed index, five guesses each, five minutes, sends
limited per reference, per source address and in total (429 with ``Retry-After``).

Nothing tells an unknown reference from a known one: a well-formed reference always gets
"若编号正确，验证码已发送至预留手机", a code row and a ``code_id``, counts against the same
limits, and shows a masked phone number -- for an unknown reference (or one whose application
names no phone) a made-up one derived from the reference with a key, the same at every ask,
and no SMS. A reference that cannot be one (length, symbols, check symbol) is named at once:
that says nothing about which applications exist.

A look-up opened by a code is audited (``progress.lookup``: the code, so the phone it went to,
and the application); it lives :data:`LOOKUP_LIFETIME` in a token the browser keeps (AES-GCM
under the field key: the application id inside is not readable, the expiry not changeable).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from govcred.core import models
from govcred.core.accounts.login_codes import (
    check_code,
    check_code_id,
    code_limits,
    consume_code,
    issue_code,
)
from govcred.core.clock import BEIJING
from govcred.core.crypto import DecryptionError
from govcred.core.exceptions import AuthenticationRequired, ErrorList
from govcred.core.masking import mask_identifier
from govcred.core.orm import audit_log
from govcred.core.ratelimit import Limit
from govcred.core.reference import parse_reference, reference_problem
from govcred.core.services.collaborators import Collaborators
from govcred.core.services.returns import RESTART_BASIS, rounds_of

#: How long a look-up opened by a code can be looked at again (then a new code is needed).
LOOKUP_LIFETIME = dt.timedelta(minutes=10)
#: What every well-formed reference is told, known or not.
SENT_MESSAGE = "若编号正确，验证码已发送至预留手机"
SEND, OPEN = "progress.code", "progress.lookup"
_TOKEN_AAD = "progress-lookup"

#: The timeline's steps, by the audit action that records them.
STEPS_ZH = {
    "application.submitted": "提交申请",
    "application.accepted": "受理",
    "application.returned": "退回补正",
    "application.resubmitted": "补正材料已提交",
    "application.approved": "批准",
    "application.rejected": "不予批准",
    "application.withdrawn": "撤回",
}


@dataclass(frozen=True)
class ProgressCodeSent:
    code_id: str
    expires_in: int
    reference: str
    phone_masked: str
    message: str = SENT_MESSAGE


@dataclass(frozen=True)
class ProgressLookup:
    """An opened look-up: which application, by which code, until when."""

    application_id: str
    code_id: str
    expires_at: dt.datetime


def check_reference(text: Any, errors: ErrorList) -> str:
    problem = reference_problem(text)
    if problem is not None:
        errors.add("reference", "REFERENCE_INVALID", problem)
        return ""
    return parse_reference(text) or ""


def _reference_index(deps: Collaborators, reference: str) -> str:
    return deps.blind_index(reference, "progress-reference")


def mask_phone(phone: str) -> str:
    """138****1234"""
    return mask_identifier(phone, 3, 4) if len(phone) == 11 else "***********"


def _decoy_phone(deps: Collaborators, reference: str) -> str:
    """A masked mobile number for a reference that has none on file: keyed, so the same at
    every ask and not computable by whoever enumerates references."""
    value = int(deps.blind_index(reference, "progress-decoy-phone")[:16], 16)
    second, value = "3456789"[value % 7], value // 7
    return f"1{second}{value % 10}****{(value // 10) % 10000:04d}"


def _findable(app: models.Application | None) -> bool:
    return app is not None and app.state != models.DRAFT


def send_progress_code(deps: Collaborators, reference: Any, *, ip: str) -> ProgressCodeSent:
    """A code for the look-up of ``reference``; ValidationError (400) for a reference that
    cannot be one, RateLimited (429) past a limit, otherwise the same answer known or not."""
    errors = ErrorList()
    reference = check_reference(reference, errors)
    errors.raise_if_any()
    index = _reference_index(deps, reference)
    with deps.uow(readonly=True) as uow:
        app = uow.applications.by_reference(reference)
        phone = deps.notifier.phone_of(app) if _findable(app) else ""
        app_id = app.id if _findable(app) else None
    per_reference = Limit(
        deps.settings.login_codes_per_number,
        "progress-reference",
        "PROGRESS_RATE_LIMITED",
        "该办件编号获取验证码过于频繁，请稍后再试",
    )
    deliver = None
    if app_id is not None and phone:

        def deliver(uow, code_id: str, code: str, now: dt.datetime) -> None:
            deps.notifier.progress_code(uow.outbox, phone, code, code_id=code_id, application_id=app_id, now=now)

    sent = issue_code(deps, index, code_limits(deps, (per_reference, index), ip), deliver=deliver, action=SEND)
    masked = mask_phone(phone) if deliver is not None else _decoy_phone(deps, reference)
    return ProgressCodeSent(sent.code_id, sent.expires_in, reference, masked)


def open_progress(deps: Collaborators, reference: Any, code: Any, *, code_id: Any) -> ProgressLookup:
    """Redeem the code: the look-up of the application, audited, or AuthenticationRequired
    (401, "验证码错误或已过期": wrong, used, expired, a sixth guess, or not this reference's)."""
    errors = ErrorList()
    reference = check_reference(reference, errors)
    code = check_code(code, errors)
    code_id = check_code_id(code_id, errors)
    errors.raise_if_any()
    now = deps.clock.now()
    with deps.uow() as uow:
        consume_code(uow, deps, _reference_index(deps, reference), code, code_id=code_id, action=OPEN)
        app = uow.applications.by_reference(reference)
        if not _findable(app):  # a code was only ever sent for a findable one
            raise AuthenticationRequired("验证码错误或已过期", code="LOGIN_FAILED")
        uow.audit.append(
            actor=f"progress-code:{code_id}",
            role="public",
            action=OPEN,
            object_type="application",
            object_id=app.id,
            details={"reference": reference},
        )
        uow.commit()
    return ProgressLookup(app.id, code_id, now + LOOKUP_LIFETIME)


def lookup_token(deps: Collaborators, lookup: ProgressLookup) -> str:
    """What the browser keeps for the look-up's lifetime (opaque, tamper-evident)."""
    text = json.dumps({"a": lookup.application_id, "c": lookup.code_id, "e": lookup.expires_at.isoformat()})
    return base64.urlsafe_b64encode(deps.cipher.encrypt_text(text, _TOKEN_AAD)).decode()


def lookup_of_token(deps: Collaborators, token: str | None) -> ProgressLookup | None:
    """The live look-up a token stands for, or None (absent, forged, or past its lifetime)."""
    if not token or len(token) > 1024:
        return None
    try:
        found = json.loads(deps.cipher.decrypt_text(base64.urlsafe_b64decode(token.encode()), _TOKEN_AAD))
        lookup = ProgressLookup(found["a"], found["c"], dt.datetime.fromisoformat(found["e"]))
    except (DecryptionError, ValueError, KeyError, TypeError, binascii.Error):  # forged or damaged
        return None
    return lookup if deps.clock.now() < lookup.expires_at else None


def progress_of(deps: Collaborators, lookup: ProgressLookup) -> dict[str, Any]:
    """What the look-up shows, read only: state, timeline, deadline, outcome or permit status,
    with the applicant's name and ID number masked."""
    with deps.uow(readonly=True) as uow:
        app = uow.applications.get(lookup.application_id)
        decision = uow.decisions.for_application(app.id)
        credential = uow.credentials.get(decision.credential_id) if decision and decision.credential_id else None
        events = uow.session.execute(
            sa.select(audit_log.c.action, audit_log.c.at)
            .where(
                audit_log.c.object_type == "application",
                audit_log.c.object_id == app.id,
                audit_log.c.action.in_(list(STEPS_ZH)),
                audit_log.c.outcome == "success",
            )
            .order_by(audit_log.c.seq)
        ).all()
    rounds = rounds_of(deps, app.id)
    return {
        "reference": app.reference,
        "state": app.state,
        "state_zh": models.APPLICATION_STATE_ZH.get(app.state, app.state),
        "applicant": {"name": app.subject_name_masked, "id_number": app.subject_id_masked},
        "submitted_at": app.submitted_at,
        "accepted_at": app.accepted_at,
        "decided_at": app.decided_at,
        "timeline": _timeline(events, rounds),
        "deadline": _deadline(app),
        "restarted": bool(rounds) and app.state != models.RETURNED and app.accepted_at is not None,
        "restart_basis": RESTART_BASIS,
        "open_return": [i["text"] for i in rounds[-1].items] if app.state == models.RETURNED and rounds else [],
        "outcome": _outcome(decision),
        "permit": None
        if credential is None
        else {
            "permit_no": credential.permit_no,
            "status": credential.status,
            "status_zh": models.CREDENTIAL_STATUS_ZH.get(credential.status, credential.status),
        },
        "lookup_expires_at": lookup.expires_at,
    }


def _timeline(events, rounds) -> list[dict[str, Any]]:
    steps, returned = [], iter(rounds)
    for action, at in events:
        step: dict[str, Any] = {"step": action.removeprefix("application."), "label": STEPS_ZH[action], "at": at}
        step["items"] = []
        if action == "application.returned":
            this = next(returned, None)
            step["items"] = [i["text"] for i in this.items] if this else []
            step["label"] = f"退回补正（共 {len(step['items'])} 项，一次性告知）"
        steps.append(step)
    # a resubmission accepts the application again at once: say so on the acceptance
    for before, step in zip(steps, steps[1:], strict=False):
        if before["step"] == "resubmitted" and step["step"] == "accepted":
            step["label"] = "补正后重新受理"
    return steps


def _deadline(app: models.Application) -> dict[str, Any] | None:
    if app.deadline is None or app.state not in (models.SUBMITTED, models.ACCEPTED):
        return None
    due = app.deadline.astimezone(BEIJING).date()
    text = f"{due.year}年{due.month}月{due.day}日（含）前"
    return {"at": app.deadline, "text": text, "provisional": app.deadline_provisional}


def _outcome(decision: models.Decision | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    return {
        "approved": decision.approved,
        "reasons": [{"text": f.message_zh, "basis": f.basis, "code": f.code} for f in decision.blocking_findings],
        "officer_reasons": list(decision.officer_reasons),
    }
