"""Notification kinds -> SMS templates: one outbox row per (application, event), phone in ``secret``.

Core emits a :class:`govcred.core.Notification` at each event; this module
decides which kinds become a text message, with which template and parameters. Payloads carry
the template name and its parameters only; the phone number travels encrypted in the row
(``Outbox.add(secret=...)``) and the text is rendered at delivery. Nothing here may raise for a
missing or bad phone number: an SMS must never roll back a decision or an issuance, so such a
case is logged (masked) and skipped.

Notices about an application or a permit are not delivered between 20:00 and 08:00 Beijing
time (:func:`govcred.core.next_daytime`); reminders carry core's own ``not_before``; a
login code goes out at once.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from govcred.core import BEIJING, next_daytime
from govcred.core import NotificationKind as Kind
from govcred.plugins.sms_gateway.backend import CHANNEL
from govcred.plugins.sms_gateway.phone import is_mobile, mask_phone, normalise_phone
from govcred.plugins.sms_gateway.reasons import reasons_text
from govcred.plugins.sms_gateway.templates import LOGIN_CODE, MAX_VARIABLE, PROGRESS_CODE

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core import Notification, Outbox

log = logging.getLogger(__name__)

#: The template of each status change a holder is texted about (the others send nothing).
STATUS_TEMPLATES = {Kind.SUSPENDED: "permit_suspended", Kind.REVOKED: "permit_revoked"}
#: The template of each reminder (core's reminder names).
REMINDER_TEMPLATES = {
    "endorsement_due": "endorsement_due",
    "week_before": "endorsement_due",
    "after_suspension": "permit_suspended",
}


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


def recipient(notification: Notification) -> str | None:
    phone = normalise_phone(notification.phone)
    if not is_mobile(phone):
        log.warning(
            "%s notification (application %s, permit %s): no valid mobile number (%s), no SMS queued",
            notification.kind,
            notification.application_id,
            notification.permit_no,
            mask_phone(phone),
        )
        return None
    return phone


def _queue(
    outbox: Outbox,
    notification: Notification,
    event: str,
    template: str,
    params: dict[str, str],
    *,
    dedupe: str,
    not_before: dt.datetime | None,
) -> str | None:
    phone = recipient(notification)
    if phone is None:
        return None
    return outbox.add(
        CHANNEL,
        f"sms.{event}",
        {"template": template, "params": params},
        aggregate_type="application",
        aggregate_id=notification.application_id,
        dedupe_key=dedupe,
        not_before=not_before,
        secret={"phone": phone},
    )


def queue_notice(notification: Notification, outbox: Outbox) -> str | None:
    """Queue the SMS of ``notification``, if its kind is texted; the row id or ``None``."""
    n = notification
    if n.kind in (Kind.LOGIN_CODE, Kind.PROGRESS_CODE):
        return queue_login_code(n, outbox)
    if n.kind == Kind.REMINDER:
        return queue_reminder(n, outbox)
    if n.kind in (Kind.OFFICER_DIGEST, Kind.DEADLINE_PASSED):
        return queue_officer_alert(n, outbox)
    at = daytime(n.occurred_at)
    if n.kind == Kind.ACCEPTED:
        if n.deadline is None:
            log.warning("application %s accepted without a deadline, no SMS queued", n.application_id)
            return None
        params = {"ref": n.application_ref, "deadline": short_date(beijing_date(n.deadline))}
        return _queue(
            outbox,
            n,
            "received",
            "application_received",
            params,
            dedupe=f"sms:{n.application_id}:received",
            not_before=at,
        )
    if n.kind == Kind.APPROVED:
        return _queue(
            outbox,
            n,
            "approved",
            "application_approved",
            {"ref": n.application_ref},
            dedupe=f"sms:{n.application_id}:approved",
            not_before=at,
        )
    if n.kind == Kind.REJECTED:
        reasons = reasons_text(n.findings, officer_reasons=bool(n.officer_reasons))
        refused_endorsement = n.application_kind == "endorsement"
        return _queue(
            outbox,
            n,
            "rejected",
            "endorsement_not_granted" if refused_endorsement else "application_rejected",
            {"ref": n.application_ref, "reasons": reasons},
            dedupe=f"sms:{n.application_id}:rejected",
            not_before=at,
        )
    if n.kind == Kind.RETURNED:  # each 补正 round is told once
        return _queue(
            outbox,
            n,
            "returned",
            "application_returned",
            {"ref": n.application_ref, "count": str(len(n.items))},
            dedupe=f"sms:{n.application_id}:returned:{n.occurred_at.isoformat() if n.occurred_at else ''}",
            not_before=at,
        )
    if n.kind == Kind.RESUBMITTED and n.deadline is not None:
        return _queue(
            outbox,
            n,
            "resubmitted",
            "application_resubmitted",
            {"ref": n.application_ref, "deadline": short_date(beijing_date(n.deadline))},
            dedupe=f"sms:{n.application_id}:resubmitted:{n.occurred_at.isoformat() if n.occurred_at else ''}",
            not_before=at,
        )
    if n.kind == Kind.REISSUED:  # once per new version
        return _queue(
            outbox,
            n,
            "reissued",
            "permit_reissued",
            {"permit_no": n.permit_no[:MAX_VARIABLE]},
            dedupe=f"sms:{n.application_id}:reissued:{n.credential_id}",
            not_before=at,
        )
    if n.kind in STATUS_TEMPLATES:
        # a permit suspended, reinstated and suspended again gets a message each time
        when = n.occurred_at.isoformat() if n.occurred_at else n.version
        return _queue(
            outbox,
            n,
            n.kind,
            STATUS_TEMPLATES[n.kind],
            {"permit_no": n.permit_no[:MAX_VARIABLE]},
            dedupe=f"sms:{n.application_id}:{n.kind}:{n.credential_id}:{when}",
            not_before=at,
        )
    return None


def refs_text(refs: tuple[str, ...]) -> str:
    """``（A、B、C等）``: as many references as the template variable holds, overdue first."""
    if not refs:
        return ""
    shown: list[str] = []
    for ref in refs:
        if len("（" + "、".join([*shown, ref]) + "等）") > MAX_VARIABLE:
            break
        shown.append(ref)
    return "（" + "、".join(shown) + ("等）" if len(shown) < len(refs) else "）")


def queue_officer_alert(n: Notification, outbox: Outbox) -> str | None:
    """The morning digest (one per officer and day) or an escalation (one per application
    and administrator), to the officer's phone; aggregate ``officer`` / the officer's id."""
    phone = recipient(n)
    if phone is None or not n.officer_id or n.occurred_at is None:
        return None
    if n.kind == Kind.OFFICER_DIGEST:
        template, event = "officer_digest", "officer_digest"
        params = {
            "due": str(len(n.due_today)),
            "overdue": str(len(n.overdue)),
            "refs": refs_text(n.overdue + n.due_today),
        }
        dedupe = f"sms:digest:{n.officer_id}:{beijing_date(n.occurred_at).isoformat()}"
    else:
        if n.deadline is None:
            return None
        template, event = "deadline_passed", "deadline_passed"
        params = {"ref": n.application_ref, "deadline": short_date(beijing_date(n.deadline))}
        dedupe = f"sms:escalation:{n.application_id}:{n.officer_id}"
    return outbox.add(
        CHANNEL,
        f"sms.{event}",
        {"template": template, "params": params},
        aggregate_type="officer",
        aggregate_id=n.officer_id,
        dedupe_key=dedupe,
        not_before=daytime(n.occurred_at),
        secret={"phone": phone},
    )


def reminder_key(permit_no: str, lapses_on: dt.date, reminder: str) -> str:
    """The dedupe key of a reminder (sms_0002 rewrote the older per-version keys to this form)."""
    return f"reminder:{permit_no}:{lapses_on.isoformat()}:{reminder}"


def queue_reminder(n: Notification, outbox: Outbox) -> str | None:
    """One reminder per (permit, lapse date, reminder); delivered no earlier than core's ``not_before``.

    Keyed by what the reminder is about, not by the credential version: a version signed again
    (``credential reissue``, ``keys revoke --compromised``) keeps the lapse date and must not
    text the holder a second time, while an endorsement moves it and starts a new cycle."""
    if n.lapses_on is None:
        return None
    params = {"permit_no": n.permit_no[:MAX_VARIABLE]}
    if n.reminder != "after_suspension":
        if n.window is None:
            return None
        # the last day of the window, 日（含）前: the reminder goes out once the window is open
        params["end"] = short_date(n.window[1])
    return _queue(
        outbox,
        n,
        f"reminder.{n.reminder}",
        REMINDER_TEMPLATES[n.reminder],
        params,
        dedupe=reminder_key(n.permit_no, n.lapses_on, n.reminder),
        not_before=n.not_before,
    )


def queue_login_code(n: Notification, outbox: Outbox) -> str | None:
    """A sign-in code, its own aggregate (``login_code`` / the code's id): codes need no ordering
    among themselves, and an id derived from the phone would put it in the outbox in clear or
    linkable form. No quiet hours and no dedupe: the resident is waiting for it now. The code
    travels encrypted with the phone (``secret``), so it is never in the row in clear, and the
    worker drops both once the message is delivered. A progress look-up's code names the
    办件编号 it opens (so a code someone else asked for is recognised as such)."""
    phone = recipient(n)
    if phone is None:
        return None
    if n.kind == Kind.PROGRESS_CODE:
        payload: dict[str, Any] = {"template": PROGRESS_CODE, "params": {"ref": n.application_ref}}
    else:
        payload = {"template": LOGIN_CODE, "params": {}}
    return outbox.add(
        CHANNEL,
        "progress.code" if n.kind == Kind.PROGRESS_CODE else "login.code",
        payload,
        aggregate_type="login_code",
        aggregate_id=n.code_id,
        secret={"phone": phone, "code": n.code},
    )
