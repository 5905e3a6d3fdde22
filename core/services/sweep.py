"""The lifecycle sweep (``govcred lifecycle sweep``; daily inside ``govcred serve``).

Phase 1 suspends every ``valid`` permit version whose ``exp`` has passed with no newer
version: the 签注 was missed, so the permit's use is suspended (暂行条例 art. 10). Each batch is
one transaction holding the status changes, one status-list revision bump per list, one audit
entry naming every credential and permit number of the batch (one entry per permit cost a
third of the sweep's time over 100,000 permits; the batch entry is as complete and as
tamper-evident), the plugins' outbox rows (SMS, provincial push; from
``govcred_credential_status_changed``) and the sweep's checkpoint row. A suspended permit no
longer matches, so a crashed sweep simply resumes and a second sweep finds nothing.

Phase 2 queues the reminders holders chose (:mod:`core.reminders`): the window opened, a week
before the lapse, the day after a suspension for a missed endorsement. Each is deduplicated
per (permit, version, reminder), so running the sweep again queues nothing new.

A sweep that changes nothing writes nothing, not even its checkpoint row.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from govcred.core import models
from govcred.core.clock import BEIJING
from govcred.core.orm import applications as applications_table
from govcred.core.orm import credentials as credentials_table
from govcred.core.orm import lifecycle_sweeps, status_lists
from govcred.core.services.permit_cycle import MISSED_ENDORSEMENT, endorsement_window
from govcred.core.services.reminders import AFTER_SUSPENSION, ENDORSEMENT_DUE, WEEK_BEFORE, preferences, queue_reminder

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core.runtime import Runtime

log = logging.getLogger("govcred.sweep")

SWEEP_ACTOR, SWEEP_ROLE = "system:lifecycle-sweep", "system"
#: Reminders look this far ahead of a permit's lapse; windows open at most this early.
REMINDER_LOOKAHEAD = dt.timedelta(days=62)
#: "The day after suspension" is still sent when a sweep was missed for a few days.
AFTER_SUSPENSION_GRACE = dt.timedelta(days=7)
WEEK = dt.timedelta(days=7)

_c = credentials_table.c


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
        return {"as_of": self.as_of.isoformat(), "suspended": self.suspended, "reminders": self.reminders,
                "batches": self.batches, "run_id": self.run_id, "seconds": round(self.seconds, 3)}


def _no_newer_version():
    newer = aliased(credentials_table)
    return ~sa.exists().where(newer.c.permit_no == _c.permit_no, newer.c.version > _c.version)


def _checkpoint(uow, report: SweepReport, phase: str, last_id: str | None, now: dt.datetime) -> None:
    """Record the batch in the sweep's row, in the batch's own transaction."""
    report.batches += 1
    values = {"phase": phase, "batches": report.batches, "suspended": report.suspended,
              "reminders": report.reminders, "last_credential_id": last_id, "updated_at": now}
    if report.run_id is None:
        report.run_id = models.new_id()
        uow.session.execute(sa.insert(lifecycle_sweeps).values(id=report.run_id, as_of=report.as_of,
                                                               started_at=now, **values))
    else:
        uow.session.execute(sa.update(lifecycle_sweeps).where(lifecycle_sweeps.c.id == report.run_id)
                            .values(**values))


def _applications(uow, credentials: list[models.Credential]) -> dict[str, models.Application]:
    ids = list({c.application_id for c in credentials})
    found = uow.session.execute(
        sa.select(models.Application).where(applications_table.c.id.in_(ids))
    ).scalars().all()
    return {a.id: a for a in found}


def _suspend_batch(rt: "Runtime", report: SweepReport, now: dt.datetime, batch: int,
                   after: tuple[dt.datetime, str] | None) -> tuple[dt.datetime, str] | None:
    """Suspend one batch past the cursor ``after`` (the last ``(expires_at, id)`` done, so a batch
    never re-reads what earlier batches suspended); returns the new cursor, None when done."""
    with rt.uow() as uow:
        stmt = sa.select(models.Credential).where(_c.status == models.VALID, _c.expires_at <= now,
                                                  _no_newer_version())
        if after is not None:
            stmt = stmt.where(sa.tuple_(_c.expires_at, _c.id) > sa.tuple_(*after))
        lapsed = uow.session.execute(
            stmt.order_by(_c.expires_at, _c.id).limit(batch).with_for_update()
        ).scalars().all()
        if not lapsed:
            return None
        apps = _applications(uow, lapsed)
        with uow.session.no_autoflush:  # one executemany UPDATE at commit, not a flush per statement
            _suspend_each(rt, uow, lapsed, apps, now)
        uow.audit.append(actor=SWEEP_ACTOR, role=SWEEP_ROLE, action="credential.suspended",
                         object_type="credential_batch", object_id=f"{report.run_id or 'new'}:{report.batches + 1}",
                         details={"reason": "missed_endorsement", "from": models.VALID, "to": models.SUSPENDED,
                                  "credentials": [c.id for c in lapsed], "permit_nos": [c.permit_no for c in lapsed]})
        uow.session.execute(
            sa.update(status_lists).where(status_lists.c.id.in_({c.status_list_id for c in lapsed}))
            .values(revision=status_lists.c.revision + 1, updated_at=now)
        )
        report.suspended += len(lapsed)
        report.suspended_permits.extend(c.permit_no for c in lapsed)
        _checkpoint(uow, report, "suspend", lapsed[-1].id, now)
        uow.commit()
        return lapsed[-1].expires_at, lapsed[-1].id


def _suspend_each(rt: "Runtime", uow, lapsed: list[models.Credential], apps: dict[str, models.Application],
                  now: dt.datetime) -> None:
    for credential in lapsed:
        credential.status = models.SUSPENDED
        credential.status_reason = MISSED_ENDORSEMENT
        credential.status_changed_at = now
        rt.pm.hook.govcred_credential_status_changed(
            credential=credential, application=apps[credential.application_id], old_status=models.VALID,
            new_status=models.SUSPENDED, reason=MISSED_ENDORSEMENT, outbox=uow.outbox)


def _due_reminders(rt: "Runtime", credential: models.Credential, chosen: frozenset[str],
                   now: dt.datetime) -> list[tuple[str, tuple[dt.date, dt.date] | None]]:
    today = now.astimezone(BEIJING).date()
    if credential.status == models.SUSPENDED:
        return [(AFTER_SUSPENSION, None)] if AFTER_SUSPENSION in chosen else []
    window = endorsement_window(rt, credential)
    if window is None:
        return []
    due = []
    if ENDORSEMENT_DUE in chosen and window[0] <= today:
        due.append((ENDORSEMENT_DUE, window))
    if WEEK_BEFORE in chosen and credential.expires_at.astimezone(BEIJING).date() - WEEK <= today:
        due.append((WEEK_BEFORE, window))
    return due


def _reminder_candidates(now: dt.datetime):
    upcoming = sa.and_(_c.status == models.VALID, _c.expires_at > now, _c.expires_at <= now + REMINDER_LOOKAHEAD)
    just_suspended = sa.and_(
        _c.status == models.SUSPENDED, _c.status_reason == MISSED_ENDORSEMENT,
        _c.status_changed_at <= now - dt.timedelta(days=1),
        _c.status_changed_at > now - dt.timedelta(days=1) - AFTER_SUSPENSION_GRACE,
    )
    return sa.or_(upcoming, just_suspended)


def _remind_batch(rt: "Runtime", report: SweepReport, now: dt.datetime, batch: int, after: str | None) -> str | None:
    """One page of reminder candidates (by id); returns the last id seen, None at the end."""
    with rt.uow() as uow:
        stmt = sa.select(models.Credential).where(_reminder_candidates(now), _no_newer_version())
        if after is not None:
            stmt = stmt.where(_c.id > after)
        page = uow.session.execute(stmt.order_by(_c.id).limit(batch)).scalars().all()
        if not page:
            return None
        chosen = preferences(uow.session, [c.permit_no for c in page])
        due = [(c, r, w) for c in page for r, w in _due_reminders(rt, c, chosen[c.permit_no], now)]
        queued = 0
        if due:
            apps = _applications(uow, [c for c, _r, _w in due])
            for credential, reminder, window in due:
                if queue_reminder(uow.outbox, rt.credential_types, credential, apps[credential.application_id], reminder,
                                  window=window, now=now):
                    queued += 1
        if queued:
            report.reminders += queued
            _checkpoint(uow, report, "remind", page[-1].id, now)
            uow.commit()
        return page[-1].id


def _finish(rt: "Runtime", report: SweepReport, now: dt.datetime) -> None:
    if report.run_id is None:
        return
    with rt.uow() as uow:
        uow.session.execute(sa.update(lifecycle_sweeps).where(lifecycle_sweeps.c.id == report.run_id)
                            .values(phase="done", finished_at=now, updated_at=now))
        uow.commit()


def run_sweep(rt: "Runtime", *, now: dt.datetime | None = None, batch: int = 1000) -> SweepReport:
    """Suspend lapsed permits, then queue the reminders that are due; idempotent."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    now = now or rt.clock.now()
    report = SweepReport(as_of=now)
    started = time.perf_counter()
    cursor: tuple[dt.datetime, str] | None = None
    while (cursor := _suspend_batch(rt, report, now, batch, cursor)) is not None:
        pass
    after: str | None = None
    while (after := _remind_batch(rt, report, now, batch, after)) is not None:
        pass
    _finish(rt, report, now)
    report.seconds = time.perf_counter() - started
    log.info("lifecycle sweep as of %s: %d suspended, %d reminders, %d batches", now.isoformat(),
             report.suspended, report.reminders, report.batches)
    return report


class DailySweep:
    """A background thread that runs the sweep at start-up and then once a day (``govcred serve``)."""

    def __init__(self, rt: "Runtime", *, interval_seconds: float = 24 * 3600.0):
        self._rt = rt
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="govcred-lifecycle-sweep", daemon=True)
        self.runs = 0

    def start(self) -> "DailySweep":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                run_sweep(self._rt)
            except Exception:  # keep the thread alive; the next day tries again
                log.exception("lifecycle sweep failed")
            self.runs += 1
            self._stop.wait(self._interval)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
