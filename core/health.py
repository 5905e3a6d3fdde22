"""What an operator asks of a running issuer: is it ready to serve (``/readyz``), and the
figures to watch (``/metrics``): outbox depth and age, dead letters, applications past their
statutory deadline. Each figure is one aggregate query over an index, cheap enough to run on
every scrape.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from govcred.core import models
from govcred.core.clock import as_utc
from govcred.core.migrate import current_heads, script_heads
from govcred.core.orm import applications, outbox
from govcred.core.outbox import DEAD, INFLIGHT, PENDING
from govcred.core.readiness import Check


def readiness(engine: Engine, pm, keystore) -> list[Check]:
    """Database reachable, migrations at head, a signing key loaded; every check is run."""
    checks = []
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        checks.append(Check("database", True))
    except Exception as exc:  # any failure to reach it is "not ready", said by its type
        checks.append(Check("database", False, f"unreachable: {type(exc).__name__}"))
        checks.append(Check("migrations", False, "unknown while the database is unreachable"))
    else:
        try:
            current, wanted = current_heads(engine, pm), script_heads(engine, pm)
            missing = sorted(wanted - current)
            checks.append(Check("migrations", not missing, f"behind: {', '.join(missing)}" if missing else ""))
        except Exception as exc:
            checks.append(Check("migrations", False, f"unreadable: {type(exc).__name__}"))
    try:
        checks.append(Check("signing_key", True, keystore.active_key().kid))
    except Exception as exc:
        checks.append(Check("signing_key", False, f"not loaded: {type(exc).__name__}"))
    return checks


@dataclass(frozen=True)
class Figures:
    outbox_pending: int
    outbox_inflight: int
    outbox_dead: int
    outbox_oldest_seconds: float
    applications_overdue: int


def figures(engine: Engine, now: dt.datetime) -> Figures:
    o = outbox.c
    with engine.connect() as conn:
        by_status = dict(
            conn.execute(
                sa.select(o.status, sa.func.count()).where(o.status.in_((PENDING, INFLIGHT, DEAD))).group_by(o.status)
            ).all()
        )
        oldest = conn.execute(sa.select(sa.func.min(o.created_at)).where(o.status.in_((PENDING, INFLIGHT)))).scalar()
        overdue = conn.execute(
            sa.select(sa.func.count())
            .select_from(applications)
            .where(applications.c.state == models.ACCEPTED, applications.c.deadline < now)
        ).scalar()
    if isinstance(oldest, str):  # SQLite hands an aggregate back as text
        oldest = dt.datetime.fromisoformat(oldest)
    return Figures(
        outbox_pending=by_status.get(PENDING, 0),
        outbox_inflight=by_status.get(INFLIGHT, 0),
        outbox_dead=by_status.get(DEAD, 0),
        outbox_oldest_seconds=max(0.0, (now - as_utc(oldest)).total_seconds()) if oldest else 0.0,
        applications_overdue=overdue or 0,
    )
