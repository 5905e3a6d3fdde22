"""What the lifecycle hooks queue: one outbox row per (application, event), phone in ``secret``.

Payloads carry the template name and its parameters only; the phone number travels
encrypted in the row (``Outbox.add(secret=...)``) and the text is rendered at delivery.
Nothing here may raise for a missing or bad phone number: an SMS must never roll back a
decision or an issuance, so such a case is logged (masked) and skipped.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from govcred.core import BEIJING, ErrorList, new_id, next_daytime
from govcred.plugins.sms_gateway.backend import CHANNEL
from govcred.plugins.sms_gateway.phone import is_mobile, mask_phone, normalise_phone
from govcred.plugins.sms_gateway.reasons import reasons_text
from govcred.plugins.sms_gateway.templates import LOGIN_CODE, MAX_VARIABLE

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core import Application, Credential, Decision, Outbox

log = logging.getLogger(__name__)

#: Notifications are not delivered between 21:00 and 08:00 Beijing time.


def application_ref(application: "Application") -> str:
    """The short reference printed in SMS: the application id's first 8 hex digits, upper
    case (a page that lists the holder's applications can print the same to match them)."""
    return application.id.replace("-", "")[:8].upper()


def short_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def beijing_date(at: dt.datetime) -> dt.date:
    return at.astimezone(BEIJING).date()


def daytime(at: dt.datetime | None) -> dt.datetime | None:
    """The ``not_before`` of a notice caused at ``at``: ``None`` (deliver at once) in the
    daytime, the next 08:00 Beijing time at night (the same hours as reminders)."""
    if at is None:
        return None
    slot = next_daytime(at)
    return None if slot == at else slot


def applicant_phone(application: "Application") -> str | None:
    applicant = application.document.get("applicant") or {}
    phone = normalise_phone(str(applicant.get("phone") or ""))
    if not is_mobile(phone):
        log.warning("application %s: no valid mobile number (%s), no SMS queued", application.id, mask_phone(phone))
        return None
    return phone


def _queue(outbox: "Outbox", application: "Application", event: str, template: str, params: dict[str, str],
           *, at: dt.datetime | None, dedupe: str | None = None) -> str | None:
    phone = applicant_phone(application)
    if phone is None:
        return None
    return outbox.add(
        CHANNEL, f"sms.{event}", {"template": template, "params": params},
        aggregate_type="application", aggregate_id=application.id,
        dedupe_key=f"sms:{application.id}:{dedupe or event}", not_before=daytime(at), secret={"phone": phone},
    )


def queue_received(application: "Application", outbox: "Outbox") -> str | None:
    params = {"ref": application_ref(application)}
    if application.deadline is None:
        log.warning("application %s accepted without a deadline, no SMS queued", application.id)
        return None
    params["deadline"] = short_date(beijing_date(application.deadline))
    return _queue(outbox, application, "received", "application_received", params, at=application.accepted_at)


def queue_decided(application: "Application", decision: "Decision", outbox: "Outbox") -> str | None:
    ref = application_ref(application)
    if decision.approved:
        return _queue(outbox, application, "approved", "application_approved", {"ref": ref}, at=decision.decided_at)
    reasons = reasons_text(decision.blocking_findings, officer_reasons=bool(decision.officer_reasons))
    return _queue(outbox, application, "rejected", "application_rejected", {"ref": ref, "reasons": reasons},
                  at=decision.decided_at)


STATUS_TEMPLATES = {"suspended": "permit_suspended", "revoked": "permit_revoked"}


def queue_status_changed(credential: "Credential", application: "Application", new_status: str,
                         outbox: "Outbox") -> str | None:
    template = STATUS_TEMPLATES.get(new_status)
    if template is None:
        return None
    changed = credential.status_changed_at
    # a permit suspended, reinstated and suspended again gets a message each time
    dedupe = f"{new_status}:{credential.id}:{changed.isoformat() if changed else credential.version}"
    return _queue(outbox, application, new_status, template, {"permit_no": credential.permit_no[:MAX_VARIABLE]},
                  at=changed, dedupe=dedupe)


def queue_login_code(outbox: "Outbox", phone: str, code: str, *, purpose: str = "login") -> str:
    """Queue a login code for ``phone`` (the resident login flow calls this).

    Each code is its own aggregate (``login`` / a fresh id): codes need no ordering among
    themselves, and an id derived from the phone would put it in the outbox in clear or
    linkable form. No quiet hours and no dedupe: the resident is waiting for it now.

    :raises ValidationError: ``phone`` is not a mainland mobile number, or ``code`` is not
        4-6 digits (both named when both are wrong).
    """
    number = normalise_phone(phone)
    errors = ErrorList()
    if not is_mobile(number):
        errors.add("phone", "PHONE_INVALID", "请输入11位中国大陆手机号码")
    if not (isinstance(code, str) and code.isdigit() and 4 <= len(code) <= 6):
        errors.add("code", "CODE_INVALID", "验证码须为4至6位数字")
    errors.raise_if_any()
    payload: dict[str, Any] = {"template": LOGIN_CODE, "params": {"code": code}, "purpose": purpose}
    message_id = outbox.add(CHANNEL, f"sms.{purpose}_code", payload, aggregate_type="login",
                            aggregate_id=new_id(), secret={"phone": number})
    assert message_id is not None, "a message without a dedupe key is always queued"
    return message_id
