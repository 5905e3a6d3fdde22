"""A hand-counted fortnight around the 2026 National Day holiday, for the bureau's reports.

2026-10-01..07 are holidays, 2026-09-20 (Sun) and 2026-10-10 (Sat) make-up working days
(国办发明电〔2025〕7号). The period is 2026-09-28..2026-10-12; "now" is 2026-10-14 10:00.

=====  =======  ==================  ==========================  =========================
app    channel  submitted/accepted  deadline (2 working days)   what happened
=====  =======  ==================  ==========================  =========================
A      online   09-30 10:00         10-09 (10-08, 10-09)        approved 10-09: on time, 2 wd
B      online   10-09 10:00         10-12 (10-10 make-up, 10-12) rejected 10-10: on time, 1 wd
C      window   09-29 09:00         10-08 (09-30, 10-08)        rejected 10-09: late, 3 wd
D      online   10-12 09:00         10-14                       returned 10-12, open: due today
E      online   10-08 09:00         10-10 (10-09, 10-10)        open: overdue
F      online   10-09 11:00 (not accepted)                      withdrawn 10-09
G      online   09-20 09:00 (before the period)  09-22          approved 10-08: late, 8 wd
H      online   10-13 09:00 (after the period)   10-15          open
=====  =======  ==================  ==========================  =========================

Working days from submission to decision: A 2, B 1, C 3, G 8 -> median 2, p90 8 (nearest
rank). Ratings in the period: A 5 and B 2 (3.5); G's, given 09-25, is outside.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from govcred.core import models
from govcred.core.clock import BEIJING
from govcred.core.orm import outbox
from tests.core.permits import SCHEMA, document, make_officer, new_id_number

FIRST, LAST = "2026-09-28", "2026-10-12"
NOW = dt.datetime(2026, 10, 14, 10, 0, tzinfo=BEIJING)

EXPECTED = {
    "applications": {"submitted": 6, "accepted": 5, "returned": 1, "approved": 2, "rejected": 2, "withdrawn": 1},
    "deadlines": {"decided_on_time": 2, "decided_late": 2, "open_overdue": 1, "open_due_today": 1},
    "rejection_reasons": {"REGISTRATION_TOO_SHORT": 2, "NO_QUALIFYING_CONDITION": 1, "OFFICER_REASON": 1},
    "channels": {"online": 5, "window": 1},
    "working_days_to_decision": {"median": 2, "p90": 8},
    "ratings": {"count": 2, "mean": 3.5},
    "verifications": 0,
    "deliveries": {"delivered": 1, "failed": 1, "dead": 1},
}
EXPECTED_WINDOW = {
    "applications": {"submitted": 1, "accepted": 1, "returned": 0, "approved": 0, "rejected": 1, "withdrawn": 0},
    "deadlines": {"decided_on_time": 0, "decided_late": 1, "open_overdue": 0, "open_due_today": 0},
    "rejection_reasons": {"NO_QUALIFYING_CONDITION": 1, "REGISTRATION_TOO_SHORT": 1},
    "channels": {"window": 1},
    "working_days_to_decision": {"median": 3, "p90": 3},
    "ratings": {"count": 0, "mean": None},
    "verifications": 0,
    "deliveries": {"delivered": 1, "failed": 1, "dead": 1},
}


def bj(month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=BEIJING)


def _finding(code: str) -> dict:
    return {"code": code, "severity": "blocking", "message_zh": code, "basis": "test"}


def _application(rt, uow, channel: str, submitted: dt.datetime, accepted: bool = True) -> models.Application:
    id_number = new_id_number()
    doc = document(id_number)
    doc["channel"] = channel
    app = models.Application(
        schema=SCHEMA,
        channel=channel,
        document=doc,
        owner_id=None,
        subject_name_masked="张*明",
        subject_id_masked=id_number[:4] + "*" * 10 + id_number[-4:],
        subject_index=rt.secrets.index(id_number, "id_number"),
        county="331121",
        created_at=submitted,
    )
    app.submit(submitted)
    if accepted:
        due = rt.collaborators.calendar.deadline(submitted)
        app.accept(submitted, due.at, due.provisional)
    uow.applications.add(app)
    uow.flush()
    return app


def _decide(uow, app, reviewer_id, approved: bool, at: dt.datetime, codes=(), officer_reasons=()) -> None:
    app.decide(approved, at)
    uow.decisions.add(
        models.Decision(
            application_id=app.id,
            approved=approved,
            findings=[_finding(c) for c in codes],
            officer_reasons=list(officer_reasons),
            reviewer_id=reviewer_id,
            decided_at=at,
        )
    )


def seed(rt, clock) -> dict[str, str]:
    """Store the fortnight; returns ``{letter: application id}``. Leaves the clock at NOW."""
    reviewer = make_officer(rt, "reviewer")
    ids: dict[str, str] = {}
    with rt.uow() as uow:
        a = _application(rt, uow, "online", bj(9, 30))
        b = _application(rt, uow, "online", bj(10, 9))
        c = _application(rt, uow, "window", bj(9, 29, 9))
        d = _application(rt, uow, "online", bj(10, 12, 9))
        e = _application(rt, uow, "online", bj(10, 8, 9))
        f = _application(rt, uow, "online", bj(10, 9, 11), accepted=False)
        g = _application(rt, uow, "online", bj(9, 20, 9))
        h = _application(rt, uow, "online", bj(10, 13, 9))
        _decide(uow, a, reviewer.id, True, bj(10, 9, 15))
        _decide(uow, b, reviewer.id, False, bj(10, 10, 11), ["REGISTRATION_TOO_SHORT"], ["材料不清晰"])
        _decide(uow, c, reviewer.id, False, bj(10, 9), ["REGISTRATION_TOO_SHORT", "NO_QUALIFYING_CONDITION"])
        _decide(uow, g, reviewer.id, True, bj(10, 8, 16))
        f.withdraw()
        uow.flush()
        ids.update(A=a.id, B=b.id, C=c.id, D=d.id, E=e.id, F=f.id, G=g.id, H=h.id)
        uow.commit()
    for at, action, letter in (
        (bj(10, 9, 12), "application.withdrawn", "F"),
        (bj(10, 12, 10), "application.returned", "D"),
    ):
        clock.set(at)
        with rt.uow() as uow:
            uow.audit.append(
                actor="test", role="clerk", action=action, object_type="application", object_id=ids[letter]
            )
            uow.commit()
    for at, letter, score in ((bj(10, 10, 9), "A", 5), (bj(10, 11, 9), "B", 2), (bj(9, 25, 9), "G", 4)):
        with rt.uow() as uow:
            uow.ratings.add(ids[letter], score, "很好" if score > 3 else "太慢", "online", at)
            uow.commit()
    clock.set(bj(10, 1))
    with rt.uow() as uow:
        for n in range(3):
            uow.outbox.add("sms", "sms.test", {"n": n}, aggregate_type="test", aggregate_id=f"t{n}")
        uow.commit()
    with rt.engine.begin() as conn:
        rows = conn.execute(sa.select(outbox.c.id).where(outbox.c.event_type == "sms.test").order_by(outbox.c.id))
        first, second, third = [r for (r,) in rows]
        conn.execute(sa.update(outbox).where(outbox.c.id == first).values(status="delivered", delivered_at=bj(10, 1)))
        conn.execute(sa.update(outbox).where(outbox.c.id == second).values(status="dead", attempts=8))
        conn.execute(sa.update(outbox).where(outbox.c.id == third).values(attempts=2, last_error="timeout"))
    clock.set(NOW)
    return ids


# ---- a year of a county, for the operations page and ``bench report`` ----------------------

_REASONS = ("REGISTRATION_TOO_SHORT", "NO_QUALIFYING_CONDITION", "LOCAL_HUKOU", "RESIDENCE_OUTSIDE_COUNTY")


def seed_year(rt, count: int, *, year: int = 2026, batch: int = 1000, seed_value: int = 36903) -> None:
    """``count`` applications spread over ``year`` (Beijing), repeatable: most accepted and
    decided within a few working days by one of three reviewers, some rejected with one or
    two reasons, some withdrawn, the latest still open; about a third of decisions rated."""
    import random

    rng = random.Random(seed_value)
    reviewers = [make_officer(rt, "reviewer").id for _ in range(3)]
    calendar = rt.collaborators.calendar
    first = dt.date(year, 1, 1)
    days = (dt.date(year + 1, 1, 1) - first).days
    made = 0
    while made < count:
        with rt.uow() as uow:
            for _ in range(min(batch, count - made)):
                day = first + dt.timedelta(days=rng.randrange(days))
                submitted = dt.datetime.combine(day, dt.time(8 + rng.randrange(9), rng.randrange(60)), tzinfo=BEIJING)
                app = _application(rt, uow, "window" if rng.random() < 0.1 else "online", submitted)
                roll = rng.random()
                if roll < 0.04:
                    app.withdraw()
                elif roll < 0.97:
                    decided_on, _ = calendar.add_working_days(day, rng.choice((0, 1, 1, 2, 2, 2, 3)))
                    decided = dt.datetime.combine(decided_on, dt.time(9 + rng.randrange(8)), tzinfo=BEIJING)
                    decided = max(decided, submitted + dt.timedelta(minutes=5))
                    approved = rng.random() < 0.75
                    codes = () if approved else rng.sample(_REASONS, rng.choice((1, 1, 2)))
                    _decide(uow, app, rng.choice(reviewers), approved, decided, codes)
                    if rng.random() < 0.33:
                        uow.flush()
                        uow.ratings.add(app.id, rng.choice((5, 5, 4, 4, 3, 2, 1)), "", app.channel, decided)
                made += 1
            uow.commit()
