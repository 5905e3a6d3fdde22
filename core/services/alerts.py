"""Officers' alerts: each working morning, every reviewer and administrator with a phone on
file is told what is due today and what is overdue; each administrator is told once when an
application passes its deadline (an escalation).

Both go through ``govcred_notify`` (the SMS plugin texts them; another plugin may e-mail),
with keys that make a second run on the same day, or by a second server process, queue
nothing new. The servers run :func:`send_alerts` every hour behind a job lease; before
08:00 Beijing time and on rest days (the working calendar, make-up days included) it only
escalates what passed its deadline, it sends no digest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from govcred.core import models
from govcred.core.clock import BEIJING
from govcred.core.notifications import Kind, Notification, application_ref
from govcred.core.services.collaborators import Collaborators

#: who gets the morning digest, and who gets escalations
DIGEST_ROLES = ("reviewer", "admin")
ESCALATION_ROLES = ("admin",)
#: an application not yet decided
OPEN_STATES = (models.SUBMITTED, models.ACCEPTED, models.RETURNED)
MORNING_HOUR = 8


@dataclass
class AlertRun:
    date: dt.date
    digest_sent: bool
    due_today: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    digests_queued: int = 0
    escalations_queued: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "digest": self.digest_sent,
            "due_today": self.due_today,
            "overdue": self.overdue,
            "digests_queued": self.digests_queued,
            "escalations_queued": self.escalations_queued,
        }


def _end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=BEIJING).astimezone(dt.UTC)


def send_alerts(deps: Collaborators) -> AlertRun:
    """Queue this morning's digests (once a working day) and any new escalations."""
    now = deps.clock.now()
    local = now.astimezone(BEIJING)
    today = local.date()
    morning = local.hour >= MORNING_HOUR and deps.calendar.is_working_day(today)
    run = AlertRun(date=today, digest_sent=morning)
    with deps.uow() as uow:
        due = uow.reports.open_due_by(OPEN_STATES, _end_of(today))
        overdue_ids = [app_id for app_id, deadline in due if deadline < now]
        run.overdue = [application_ref(i) for i in overdue_ids]
        run.due_today = [application_ref(i) for i, deadline in due if deadline >= now]
        if morning:
            for officer, phone in uow.officer_contacts.recipients(DIGEST_ROLES):
                run.digests_queued += deps.notifier.emit(
                    uow.outbox,
                    Notification(
                        Kind.OFFICER_DIGEST,
                        phone=phone,
                        occurred_at=now,
                        officer_id=officer.id,
                        due_today=tuple(run.due_today),
                        overdue=tuple(run.overdue),
                    ),
                )
        admins = uow.officer_contacts.recipients(ESCALATION_ROLES)
        deadlines = dict(due)
        for app_id in overdue_ids:
            for officer, phone in admins:
                run.escalations_queued += deps.notifier.emit(
                    uow.outbox,
                    Notification(
                        Kind.DEADLINE_PASSED,
                        phone=phone,
                        occurred_at=now,
                        officer_id=officer.id,
                        application_id=app_id,
                        application_ref=application_ref(app_id),
                        deadline=deadlines[app_id],
                    ),
                )
        if run.digests_queued or run.escalations_queued:
            uow.audit.append(
                actor="system:alerts",
                role="admin",
                action="alerts.sent",
                object_type="alerts",
                object_id=today.isoformat(),
                details={
                    "due_today": len(run.due_today),
                    "overdue": len(run.overdue),
                    "digests": run.digests_queued,
                    "escalations": run.escalations_queued,
                },
            )
        uow.commit()
    return run


def set_officer_phone(deps: Collaborators, username: str, phone: str, *, actor: str) -> models.Officer:
    """Record where ``username`` is told about deadlines (audited; the number is encrypted)."""
    from govcred.core.accounts.login_codes import check_phone
    from govcred.core.exceptions import ErrorList, NotFound

    errors = ErrorList()
    phone = check_phone(phone, errors)
    with deps.uow() as uow:
        officer = uow.officers.by_username(username)
        if officer is None and errors:  # both to fix: said at once
            errors.add("username", "OFFICER_NOT_FOUND", f"没有用户名为 {username} 的账号")
        errors.raise_if_any()
        if officer is None:
            raise NotFound(f"没有用户名为 {username} 的账号", code="OFFICER_NOT_FOUND")
        uow.officer_contacts.set_phone(officer.id, phone, deps.clock.now())
        uow.audit.append(
            actor=actor,
            role="admin",
            action="officer.contact_set",
            object_type="officer",
            object_id=officer.id,
            details={"phone": phone[:3] + "****" + phone[-4:]},
        )
        uow.commit()
    return officer
