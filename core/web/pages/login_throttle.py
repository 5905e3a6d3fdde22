"""Failed-log-in throttling, counted from the audit log (shared by every worker process).

Each failed attempt is already an audit entry; counting the recent ones per account needs no
other store, works across processes, and never locks an account for good: the window slides.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from core.exceptions import RateLimited
from core.orm import audit_log

WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES = 10


def recent_failures(uow, *, action: str, object_id: str, now: dt.datetime) -> int:
    return uow.session.execute(
        sa.select(sa.func.count()).select_from(audit_log).where(
            audit_log.c.action == action, audit_log.c.object_id == object_id,
            audit_log.c.outcome == "failure", audit_log.c.at > now - WINDOW)
    ).scalar_one()


def check(uow, *, action: str, object_id: str, now: dt.datetime) -> None:
    if recent_failures(uow, action=action, object_id=object_id, now=now) >= MAX_FAILURES:
        raise RateLimited("尝试次数过多，请 15 分钟后再试", code="LOGIN_THROTTLED")
