"""The lifecycle sweep (``govcred lifecycle sweep``; daily in one ``govcred serve`` process, core/jobs.py).

Phase 1 suspends every ``valid`` permit version whose ``exp`` has passed with no newer
version: the 签注 was missed, so the permit's use is suspended (暂行条例 art. 10). Each batch is
one transaction holding the status changes, one status-list revision bump per list, one audit
entry naming every credential and permit number of the batch (one entry per permit cost a
third of the sweep's time over 100,000 permits; the batch entry is as complete and as
tamper-evident), the plugins' outbox rows (from ``govcred_credential_status_changed`` and
``govcred_notify``) and the sweep's checkpoint row. A suspended permit no
longer matches, so a crashed sweep simply resumes and a second sweep finds nothing.

Phase 2 queues the reminders holders chose (:mod:`core.reminders`): the window opened, a week
before the lapse, the day after a suspension for a missed endorsement. The notifying plugins
queue each once per (permit, lapse date, reminder), so running the sweep again, or after the
permit was signed again with the same lapse date, queues nothing new.

A sweep that changes nothing writes nothing, not even its checkpoint row.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

from govcred.core import models
from govcred.core.clock import BEIJING
from govcred.core.services.collaborators import Collaborators
from govcred.core.services.permit_cycle import MISSED_ENDORSEMENT, endorsement_window
from govcred.core.services.reminders import AFTER_SUSPENSION, ENDORSEMENT_DUE, WEEK_BEFORE, preferences
from govcred.core.services.status_change import apply_status_change

log = logging.getLogger("govcred.sweep")

SWEEP_ACTOR, SWEEP_ROLE = "system:lifecycle-sweep", "system"
#: Reminders look this far ahead of a permit's lapse; windows open at most this early.
REMINDER_LOOKAHEAD = dt.timedelta(days=62)
#: "The day after suspension" is still sent when a sweep was missed for a few days.
AFTER_SUSPENSION_GRACE = dt.timedelta(days=7)
WEEK = dt.timedelta(days=7)


@dataclass
class SweepReport:
    as_of: dt.datetime
    suspended: int = 0
    reminders: int = 0
    batches: int = 0
    run_id: str | None = None
    seconds: float = 0.0
    suspended_permits: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(),
            "suspended": self.suspended,
            "reminders": self.reminders,
            "batches": self.batches,
            "run_id": self.run_id,
            "seconds": round(self.seconds, 3),
        }


def _checkpoint(uow, report: SweepReport, phase: str, last_id: str | None, now: dt.datetime) -> None:
    """Record the batch in the sweep's row, in the batch's own transaction."""
    report.batches += 1
    values = {
        "phase": phase,
        "batches": report.batches,
        "suspended": report.suspended,
        "reminders": report.reminders,
        "last_credential_id": last_id,
        "updated_at": now,
    }
    if report.run_id is None:
        report.run_id = models.new_id()
        uow.sweep_runs.start(report.run_id, as_of=report.as_of, started_at=now, **values)
    else:
        uow.sweep_runs.update(report.run_id, **values)


def _suspend_batch(
    deps: Collaborators, report: SweepReport, now: dt.datetime, batch: int, after: tuple[dt.datetime, str] | None
) -> tuple[dt.datetime, str] | None:
    """Suspend one batch past the cursor ``after`` (the last ``(expires_at, id)`` done, so a batch
    never re-reads what earlier batches suspended); returns the new cursor, None when done."""
    with deps.uow() as uow:
        lapsed = uow.credentials.lapsed(now, after=after, limit=batch)
        if not lapsed:
            return None
        apps = uow.applications.by_ids(c.application_id for c in lapsed)
        with uow.session.no_autoflush:  # one executemany UPDATE at commit, not a flush per statement
            apply_status_change(
                uow,
                deps,
                [(c, apps[c.application_id]) for c in lapsed],
                models.SUSPENDED,
                reason=MISSED_ENDORSEMENT,
                now=now,
                actor=SWEEP_ACTOR,
                role=SWEEP_ROLE,
                action="credential.suspended",
                object_type="credential_batch",
                object_id=f"{report.run_id or 'new'}:{report.batches + 1}",
                details={
                    "reason": "missed_endorsement",
                    "from": models.VALID,
                    "to": models.SUSPENDED,
                    "credentials": [c.id for c in lapsed],
                    "permit_nos": [c.permit_no for c in lapsed],
                },
            )
        report.suspended += len(lapsed)
        report.suspended_permits.extend(c.permit_no for c in lapsed)
        _checkpoint(uow, report, "suspend", lapsed[-1].id, now)
        uow.commit()
        return lapsed[-1].expires_at, lapsed[-1].id


def _due_reminders(
    deps: Collaborators, credential: models.Credential, chosen: frozenset[str], now: dt.datetime
) -> list[tuple[str, tuple[dt.date, dt.date] | None]]:
    today = now.astimezone(BEIJING).date()
    if credential.status == models.SUSPENDED:
        return [(AFTER_SUSPENSION, None)] if AFTER_SUSPENSION in chosen else []
    window = endorsement_window(deps.credential_types, credential)
    if window is None:
        return []
    due = []
    if ENDORSEMENT_DUE in chosen and window[0] <= today:
        due.append((ENDORSEMENT_DUE, window))
    if WEEK_BEFORE in chosen and credential.expires_at.astimezone(BEIJING).date() - WEEK <= today:
        due.append((WEEK_BEFORE, window))
    return due


def _remind_batch(
    deps: Collaborators, report: SweepReport, now: dt.datetime, batch: int, after: str | None
) -> str | None:
    """One page of reminder candidates (by id); returns the last id seen, None at the end."""
    with deps.uow() as uow:
        page = uow.credentials.reminder_candidates(
            now,
            lookahead=REMINDER_LOOKAHEAD,
            suspended_reason=MISSED_ENDORSEMENT,
            grace=AFTER_SUSPENSION_GRACE,
            after=after,
            limit=batch,
        )
        if not page:
            return None
        chosen = preferences(uow, [c.permit_no for c in page])
        due = [(c, r, w) for c in page for r, w in _due_reminders(deps, c, chosen[c.permit_no], now)]
        queued = 0
        if due:
            apps = uow.applications.by_ids(c.application_id for c, _r, _w in due)
            for credential, reminder, window in due:
                if deps.notifier.reminder(
                    uow.outbox, credential, apps[credential.application_id], reminder, window=window, now=now
                ):
                    queued += 1
        if queued:
            report.reminders += queued
            _checkpoint(uow, report, "remind", page[-1].id, now)
            uow.commit()
        return page[-1].id


def _finish(deps: Collaborators, report: SweepReport, now: dt.datetime) -> None:
    if report.run_id is None:
        return
    with deps.uow() as uow:
        uow.sweep_runs.update(report.run_id, phase="done", finished_at=now, updated_at=now)
        uow.commit()


def run_sweep(deps: Collaborators, *, now: dt.datetime | None = None, batch: int = 1000) -> SweepReport:
    """Suspend lapsed permits, then queue the reminders that are due; idempotent."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    now = now or deps.clock.now()
    report = SweepReport(as_of=now)
    started = time.perf_counter()
    cursor: tuple[dt.datetime, str] | None = None
    while (cursor := _suspend_batch(deps, report, now, batch, cursor)) is not None:
        pass
    after: str | None = None
    while (after := _remind_batch(deps, report, now, batch, after)) is not None:
        pass
    _finish(deps, report, now)
    report.seconds = time.perf_counter() - started
    log.info(
        "lifecycle sweep as of %s: %d suspended, %d reminders, %d batches",
        now.isoformat(),
        report.suspended,
        report.reminders,
        report.batches,
    )
    return report
