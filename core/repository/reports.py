"""The counting queries behind the bureau's reports: each a range scan of an indexed time
column (``orm.py`` names the indexes), aggregated by the database (the findings' JSON
unnested by it too), so a year of a county is a few grouped scans; where SQLite and
PostgreSQL spell a thing differently (a Beijing day, JSON arrays) the query says both.

Times are UTC instants; the caller turns a Beijing period into ``[start, end)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from govcred.core.orm import applications, audit_log, decisions, outbox, service_ratings


@dataclass(frozen=True)
class DecisionCounts:
    approved: int
    rejected: int
    on_time: int
    late: int


class ReportQueries:
    def __init__(self, session: Session):
        self._s = session

    @staticmethod
    def _channel(query, channel: str | None):
        return query if channel is None else query.where(applications.c.channel == channel)

    def submitted_by_channel(self, start: dt.datetime, end: dt.datetime, channel: str | None) -> dict[str, int]:
        query = (
            sa.select(applications.c.channel, sa.func.count())
            .where(applications.c.submitted_at >= start, applications.c.submitted_at < end)
            .group_by(applications.c.channel)
        )
        return dict(self._s.execute(self._channel(query, channel)).all())

    def submitted_by_day(self, start: dt.datetime, end: dt.datetime, channel: str | None) -> dict[dt.date, int]:
        day = self._day(applications.c.submitted_at)
        query = (
            sa.select(day, sa.func.count())
            .where(applications.c.submitted_at >= start, applications.c.submitted_at < end)
            .group_by(day)
        )
        return {self._as_date(d): n for d, n in self._s.execute(self._channel(query, channel))}

    def accepted(self, start: dt.datetime, end: dt.datetime, channel: str | None) -> int:
        query = sa.select(sa.func.count()).where(applications.c.accepted_at >= start, applications.c.accepted_at < end)
        return self._s.execute(self._channel(query, channel)).scalar_one()

    def actions(
        self, names: Sequence[str], start: dt.datetime, end: dt.datetime, channel: str | None
    ) -> dict[str, int]:
        """How many applications each audited action (withdrawn, returned ...) touched."""
        query = (
            sa.select(audit_log.c.action, sa.func.count(sa.distinct(audit_log.c.object_id)))
            .select_from(audit_log.join(applications, applications.c.id == audit_log.c.object_id))
            .where(
                audit_log.c.action.in_(list(names)),
                audit_log.c.object_type == "application",
                audit_log.c.at >= start,
                audit_log.c.at < end,
            )
            .group_by(audit_log.c.action)
        )
        found = dict(self._s.execute(self._channel(query, channel)).all())
        return {name: found.get(name, 0) for name in names}

    def _day(self, column):
        """The Beijing calendar day of a UTC instant column, in SQL. Each database spells it
        its own way (SQLite stores naive UTC text); the one place that knows both."""
        if self._s.get_bind().dialect.name == "postgresql":
            return sa.cast(sa.func.timezone("Asia/Shanghai", column), sa.Date)
        return sa.func.date(column, "+8 hours")

    @staticmethod
    def _as_date(value) -> dt.date:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))

    def _decided(self, start: dt.datetime, end: dt.datetime, channel: str | None, *columns):
        query = (
            sa.select(*columns)
            .select_from(decisions.join(applications, applications.c.id == decisions.c.application_id))
            .where(decisions.c.decided_at >= start, decisions.c.decided_at < end)
            # SQLite would look each application up by its primary key and read the wide row
            # (the encrypted document) for its deadline; the covering index has it all
            .with_hint(applications, "INDEXED BY ix_applications_report", "sqlite")
        )
        return self._channel(query, channel)

    @staticmethod
    def _on_time_counts():
        late = sa.and_(applications.c.deadline.is_not(None), decisions.c.decided_at > applications.c.deadline)
        on_time = sa.and_(applications.c.deadline.is_not(None), decisions.c.decided_at <= applications.c.deadline)
        return (
            sa.func.count(),
            sa.func.count().filter(decisions.c.approved.is_(True)),
            sa.func.count().filter(on_time),
            sa.func.count().filter(late),
        )

    def decision_counts(self, start: dt.datetime, end: dt.datetime, channel: str | None) -> DecisionCounts:
        decided, approved, on_time, late = self._s.execute(
            self._decided(start, end, channel, *self._on_time_counts())
        ).one()
        return DecisionCounts(approved=approved, rejected=decided - approved, on_time=on_time, late=late)

    def reviewer_counts(
        self, start: dt.datetime, end: dt.datetime, channel: str | None
    ) -> dict[str | None, DecisionCounts]:
        query = self._decided(start, end, channel, decisions.c.reviewer_id, *self._on_time_counts()).group_by(
            decisions.c.reviewer_id
        )
        return {
            reviewer: DecisionCounts(approved=approved, rejected=n - approved, on_time=on_time, late=late)
            for reviewer, n, approved, on_time, late in self._s.execute(query)
        }

    def submission_decision_days(
        self, start: dt.datetime, end: dt.datetime, channel: str | None
    ) -> list[tuple[dt.date, dt.date, int]]:
        """``(day submitted, day decided, decisions)`` over the period's decisions: the few
        hundred distinct pairs a year has, for working days to decision."""
        submitted, decided = self._day(applications.c.submitted_at), self._day(decisions.c.decided_at)
        query = (
            self._decided(start, end, channel, submitted, decided, sa.func.count())
            .where(applications.c.submitted_at.is_not(None))
            .group_by(submitted, decided)
        )
        return [(self._as_date(a), self._as_date(b), n) for a, b, n in self._s.execute(query)]

    def decided_by_day(self, start: dt.datetime, end: dt.datetime, channel: str | None) -> dict[dt.date, int]:
        day = self._day(decisions.c.decided_at)
        query = self._decided(start, end, channel, day, sa.func.count()).group_by(day)
        return {self._as_date(d): n for d, n in self._s.execute(query)}

    def rejection_reasons(self, start: dt.datetime, end: dt.datetime, channel: str | None) -> dict[str, int]:
        """Rejections of the period per blocking rule code (a rejection counts once per code),
        unnested from the findings' JSON by the database itself."""
        if self._s.get_bind().dialect.name == "postgresql":
            finding = sa.func.json_array_elements(decisions.c.findings).table_valued("value").alias("finding")
            code, severity = finding.c.value.op("->>")("code"), finding.c.value.op("->>")("severity")
        else:
            finding = sa.func.json_each(decisions.c.findings).table_valued("value").alias("finding")
            code = sa.func.json_extract(finding.c.value, "$.code")
            severity = sa.func.json_extract(finding.c.value, "$.severity")
        query = (
            sa.select(code, sa.func.count(sa.distinct(decisions.c.id)))
            .select_from(decisions.join(applications, applications.c.id == decisions.c.application_id))
            .join(finding, sa.true())
            .where(
                decisions.c.decided_at >= start,
                decisions.c.decided_at < end,
                decisions.c.approved.is_(False),
                severity == "blocking",
            )
            .group_by(code)
        )
        return dict(self._s.execute(self._channel(query, channel)).all())

    def rejections_with_officer_reasons(self, start: dt.datetime, end: dt.datetime, channel: str | None) -> int:
        query = self._decided(start, end, channel, sa.func.count()).where(
            decisions.c.approved.is_(False), sa.cast(decisions.c.officer_reasons, sa.Text) != "[]"
        )
        return self._s.execute(query).scalar_one()

    def open_deadlines(
        self, states: Sequence[str], start: dt.datetime, end: dt.datetime, channel: str | None
    ) -> list[tuple[str, dt.datetime | None]]:
        """``(id, deadline)`` of the still-open applications submitted in the period."""
        query = sa.select(applications.c.id, applications.c.deadline).where(
            applications.c.state.in_(list(states)),
            applications.c.submitted_at >= start,
            applications.c.submitted_at < end,
        )
        return [(i, d) for i, d in self._s.execute(self._channel(query, channel))]

    def open_due_by(self, states: Sequence[str], until: dt.datetime) -> list[tuple[str, dt.datetime]]:
        """``(id, deadline)`` of every open application whose deadline is before ``until``,
        earliest first (the morning alert: overdue and due today)."""
        query = (
            sa.select(applications.c.id, applications.c.deadline)
            .where(applications.c.state.in_(list(states)), applications.c.deadline < until)
            .order_by(applications.c.deadline, applications.c.id)
        )
        return [(i, d) for i, d in self._s.execute(query)]

    def ratings(self, start: dt.datetime, end: dt.datetime, channel: str | None) -> tuple[int, float | None]:
        query = sa.select(sa.func.count(), sa.func.avg(service_ratings.c.score)).where(
            service_ratings.c.created_at >= start, service_ratings.c.created_at < end
        )
        if channel is not None:
            query = query.where(service_ratings.c.channel == channel)
        count, mean = self._s.execute(query).one()
        return count, (float(mean) if mean is not None else None)

    def deliveries(self, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
        """Messages created in the period: delivered, still failing (retrying), dead."""
        failing = sa.and_(outbox.c.status.in_(("pending", "inflight")), outbox.c.attempts > 0)
        query = sa.select(
            sa.func.count().filter(outbox.c.status == "delivered"),
            sa.func.count().filter(failing),
            sa.func.count().filter(outbox.c.status == "dead"),
        ).where(outbox.c.created_at >= start, outbox.c.created_at < end)
        delivered, failed, dead = self._s.execute(query).one()
        return {"delivered": delivered, "failed": failed, "dead": dead}

    def deliveries_by_channel(self, start: dt.datetime, end: dt.datetime) -> dict[str, dict[str, int]]:
        query = (
            sa.select(outbox.c.channel, outbox.c.status, sa.func.count())
            .where(outbox.c.created_at >= start, outbox.c.created_at < end)
            .group_by(outbox.c.channel, outbox.c.status)
        )
        out: dict[str, dict[str, int]] = {}
        for name, status, n in self._s.execute(query):
            out.setdefault(name, {})[status] = n
        return out

    def application_rows(self, start: dt.datetime, end: dt.datetime, channel: str | None) -> Iterator[Any]:
        """The period's applications for export: masked columns only, never the document."""
        query = (
            sa.select(
                applications.c.id,
                applications.c.channel,
                applications.c.state,
                applications.c.subject_name_masked,
                applications.c.subject_id_masked,
                applications.c.submitted_at,
                applications.c.accepted_at,
                applications.c.deadline,
                applications.c.decided_at,
                applications.c.permit_no,
                decisions.c.approved,
                decisions.c.findings,
            )
            .select_from(applications.outerjoin(decisions, decisions.c.application_id == applications.c.id))
            .where(applications.c.submitted_at >= start, applications.c.submitted_at < end)
            .order_by(applications.c.submitted_at, applications.c.id)
        )
        yield from self._s.execute(self._channel(query, channel))
