"""Failed-log-in throttling per account and per source address, counted from the audit log
(shared by every worker process).

Each failed attempt is already an audit entry; counting the recent ones per account needs no
other store, works across processes, and never locks an account for good: the window slides.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from govcred.core.exceptions import RateLimited
from govcred.core.orm import audit_log

WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES = 10
#: Per source address: higher, since a county office may sit behind one address.
MAX_FAILURES_PER_IP = 30


def recent_failures(uow, *, actions: tuple[str, ...], object_id: str, now: dt.datetime) -> int:
    return uow.session.execute(
        sa.select(sa.func.count())
        .select_from(audit_log)
        .where(
            audit_log.c.action.in_(actions),
            audit_log.c.object_id == object_id,
            audit_log.c.outcome == "failure",
            audit_log.c.at > now - WINDOW,
        )
    ).scalar_one()


def recent_failures_from(uow, *, actions: tuple[str, ...], ip: str, now: dt.datetime) -> int:
    return uow.session.execute(
        sa.select(sa.func.count())
        .select_from(audit_log)
        .where(
            audit_log.c.action.in_(actions),
            audit_log.c.outcome == "failure",
            audit_log.c.at > now - WINDOW,
            audit_log.c.details["ip"].as_string() == ip,
        )
    ).scalar_one()


def check(uow, *, actions: tuple[str, ...], object_id: str, ip: str, now: dt.datetime) -> None:
    """Refuse while the account, or the address it is tried from, has too many recent failures
    of any of ``actions`` (the failures must be audited with ``details["ip"]``).

    ``Retry-After`` is the whole window: the oldest failure counted may be younger than that,
    but saying less would invite a retry that is refused again.
    """
    if (
        recent_failures(uow, actions=actions, object_id=object_id, now=now) >= MAX_FAILURES
        or recent_failures_from(uow, actions=actions, ip=ip, now=now) >= MAX_FAILURES_PER_IP
    ):
        raise RateLimited(
            "尝试次数过多，请 15 分钟后再试", code="LOGIN_THROTTLED", retry_after=int(WINDOW.total_seconds())
        )
