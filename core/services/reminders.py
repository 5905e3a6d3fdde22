"""Reminders a permit holder chose (短信定制化服务): what they are, when they may go out, how
they are queued.

Three reminders exist: the endorsement window opened (``endorsement_due``), the permit lapses
in a week (``week_before``), and the day after the permit was suspended for a missed
endorsement (``after_suspension``). A permit without a stored choice gets
:data:`DEFAULT_REMINDERS`. Each reminder is queued at most once per permit version
(``dedupe_key``) and never delivered outside 08:00-20:00 Beijing time (``not_before``).

They travel on the ``sms`` channel as the SMS plugin's approved templates (template name and
parameters in the payload, the phone number encrypted in the row); core names the templates
because a reminder is core's event, and the channel renders and throttles them like any other.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Iterable, Sequence

import sqlalchemy as sa

from govcred.core.clock import next_daytime  # reminders go out in core.clock.DAYTIME_HOURS only
from govcred.core.exceptions import ErrorList
from govcred.core.orm import permit_reminders

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from govcred.core.credential_types import CredentialTypes
    from govcred.core.models import Application, Credential
    from govcred.core.outbox import Outbox

log = logging.getLogger("govcred.reminders")

ENDORSEMENT_DUE, WEEK_BEFORE, AFTER_SUSPENSION = "endorsement_due", "week_before", "after_suspension"
REMINDERS = (ENDORSEMENT_DUE, WEEK_BEFORE, AFTER_SUSPENSION)
REMINDER_LABELS = {ENDORSEMENT_DUE: "签注办理期开始时提醒", WEEK_BEFORE: "签注截止前一周提醒",
                   AFTER_SUSPENSION: "证件中止使用次日提醒"}
DEFAULT_REMINDERS = frozenset({ENDORSEMENT_DUE})
SMS_CHANNEL = "sms"
#: The SMS plugin's approved templates each reminder uses.
SMS_TEMPLATES = {ENDORSEMENT_DUE: "endorsement_due", WEEK_BEFORE: "endorsement_due",
                 AFTER_SUSPENSION: "permit_suspended"}
#: Longest template variable the SMS providers accept.
MAX_VARIABLE = 35


def date_zh(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def check_choice(reminders: object) -> list[str]:
    """The chosen reminders, deduplicated in the canonical order; every bad entry at once."""
    errors = ErrorList()
    if not isinstance(reminders, (list, tuple)):
        errors.add("reminders", "REMINDERS_INVALID", f"提醒须为列表，可选：{'、'.join(REMINDERS)}")
        errors.raise_if_any()
    for i, item in enumerate(reminders):  # type: ignore[arg-type]
        if item not in REMINDERS:
            errors.add(f"reminders[{i}]", "REMINDER_UNKNOWN", f"未知的提醒类型，可选：{'、'.join(REMINDERS)}")
    errors.raise_if_any()
    return [r for r in REMINDERS if r in reminders]  # type: ignore[operator]


def preferences(session: "Session", permit_nos: Iterable[str]) -> dict[str, frozenset[str]]:
    """The chosen reminders of each permit (the defaults for permits without a choice)."""
    wanted = list(dict.fromkeys(permit_nos))
    found = {row.permit_no: frozenset(row.reminders) for row in session.execute(
        sa.select(permit_reminders.c.permit_no, permit_reminders.c.reminders)
        .where(permit_reminders.c.permit_no.in_(wanted))
    )} if wanted else {}
    return {p: found.get(p, DEFAULT_REMINDERS) for p in wanted}


def store_preferences(session: "Session", permit_no: str, chosen: Sequence[str], *, actor: str,
                      now: dt.datetime) -> None:
    exists = session.execute(
        sa.select(permit_reminders.c.permit_no).where(permit_reminders.c.permit_no == permit_no)
    ).first()
    values = {"reminders": list(chosen), "updated_at": now, "updated_by": actor}
    if exists is None:
        session.execute(sa.insert(permit_reminders).values(permit_no=permit_no, **values))
    else:
        session.execute(sa.update(permit_reminders).where(permit_reminders.c.permit_no == permit_no)
                        .values(**values))


def queue_reminder(outbox: "Outbox", credential_types: "CredentialTypes", credential: "Credential",
                   application: "Application", reminder: str, *, window: tuple[dt.date, dt.date] | None,
                   now: dt.datetime) -> str | None:
    """Queue one reminder SMS; ``None`` when it was queued before or the holder has no phone."""
    credential_type = credential_types.get(application.schema)
    subject = credential_type.subject(application.document) if credential_type is not None else {}
    phone = subject.get("phone")
    if not phone:
        log.warning("permit %s: no phone number, reminder %s not queued", credential.permit_no, reminder)
        return None
    params = {"permit_no": credential.permit_no[:MAX_VARIABLE]}
    if reminder != AFTER_SUSPENSION:
        if window is None:
            return None
        params.update(start=date_zh(window[0]), end=date_zh(window[1]))
    return outbox.add(
        SMS_CHANNEL, f"sms.reminder.{reminder}", {"template": SMS_TEMPLATES[reminder], "params": params},
        aggregate_type="application", aggregate_id=application.id,
        dedupe_key=f"reminder:{credential.permit_no}:{credential.version}:{reminder}",
        not_before=next_daytime(now), secret={"phone": phone},
    )
