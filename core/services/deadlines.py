"""Provisional deadlines made final: after a year's holiday notice is imported, every accepted
application whose deadline was only estimated (weekends and statutory days) is counted again
on the notice's calendar."""

from __future__ import annotations

from dataclasses import dataclass

from govcred.core.accounts.officers import Principal
from govcred.core.services.collaborators import Collaborators
from govcred.core.services.intake import WORKING_DAYS_TO_DECIDE, commit_application_change


@dataclass(frozen=True)
class Recomputed:
    #: provisional deadlines counted again
    checked: int
    #: of those, the ones whose date changed
    moved: int
    #: of those, the ones still provisional (their year's notice is still missing)
    still_provisional: int


def recompute_provisional_deadlines(deps: Collaborators, principal: Principal) -> Recomputed:
    """Count every provisional deadline again on the calendar as it is now, in one transaction,
    with an audit entry for each deadline that moved."""
    # asked afresh: ``deps.calendar`` is the one loaded before the import
    calendar = deps.pm.hook.govcred_working_calendar(settings=deps.settings)
    moved = still = 0
    with deps.uow() as uow:
        apps = uow.applications.with_provisional_deadline()
        for app in apps:
            result = calendar.deadline(app.accepted_at, working_days=WORKING_DAYS_TO_DECIDE)
            still += result.provisional
            if result.at == app.deadline and result.provisional == app.deadline_provisional:
                continue
            if result.at != app.deadline:
                moved += 1
                uow.audit.append(
                    actor=principal.audit_actor,
                    role=principal.role,
                    action="application.deadline_recomputed",
                    object_type="application",
                    object_id=app.id,
                    details={
                        "from": app.deadline.isoformat(),
                        "to": result.at.isoformat(),
                        "provisional": result.provisional,
                    },
                )
            app.deadline, app.deadline_provisional = result.at, result.provisional
        commit_application_change(uow)
    return Recomputed(checked=len(apps), moved=moved, still_provisional=still)
