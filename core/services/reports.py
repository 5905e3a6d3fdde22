"""The bureau's figures for a period: volumes by channel, the 2-working-day promise kept or
broken, rejection reasons, time to decision in working days, ratings, verifications and
deliveries -- the same numbers for ``govcred report``, ``GET /api/v1/reports/summary`` and
the operations page, so they can never disagree.

What each figure counts (a period is a range of Beijing days, both ends included):

- ``applications.submitted`` / ``accepted``: submitted / accepted in the period;
  ``approved`` / ``rejected``: decided in the period; ``returned`` (补正) and ``withdrawn``:
  applications the audit log shows returned / withdrawn in the period.
- ``deadlines.decided_on_time`` / ``decided_late``: decisions of the period at or before /
  after their working-day deadline; ``open_overdue`` / ``open_due_today``: applications
  submitted in the period still undecided now whose deadline has passed / ends today.
- ``working_days_to_decision``: working days from the day of submission to the day of the
  decision (a decision on the same day took 0, on the next working day 1), for the
  period's decisions; ``median`` and ``p90`` by the nearest-rank method, ``null`` without
  decisions.
- ``ratings``: ratings (好差评) given in the period; ``verifications``: checks the
  deployment's verifier logged; ``deliveries``: outbox messages created in the period,
  delivered, still failing (being retried) or dead letters.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from govcred.core import models
from govcred.core.accounts.officers import Principal, require_role
from govcred.core.clock import BEIJING
from govcred.core.exceptions import ErrorList
from govcred.core.services.collaborators import Collaborators
from govcred.core.services.intake import CHANNELS  # the intake channels a report filters by

#: audited actions the report counts per application (core/services/returns.py writes 补正s)
RETURNED_ACTION = "application.returned"
WITHDRAWN_ACTION = "application.withdrawn"
#: an application not yet decided (a returned one waits for the resident's materials)
OPEN_STATES = (models.SUBMITTED, models.ACCEPTED, models.RETURNED)
#: officer reasons have no rule code; they are counted under this one
OFFICER_REASON = "OFFICER_REASON"
OFFICER_REASON_LABEL = "审核人员补充理由"
#: a report longer than this is refused: nobody reads it, and it would scan years of rows
MAX_DAYS = 3 * 366
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class ReportPeriod:
    first_day: dt.date
    last_day: dt.date
    channel: str | None = None

    @classmethod
    def parse(cls, first: object, last: object, channel: object = None) -> ReportPeriod:
        """From the strings a user typed; every problem at once (``from``, ``to``, ``channel``)."""
        errors = ErrorList()
        days = {}
        for name, value in (("from", first), ("to", last)):
            if not isinstance(value, str) or not value:
                errors.add(name, "REQUIRED", f"请给出 {name} 日期（YYYY-MM-DD）")
                continue
            try:
                if not _DATE.fullmatch(value):
                    raise ValueError
                days[name] = dt.date.fromisoformat(value)
            except ValueError:
                errors.add(name, "DATE_INVALID", f"{name} 不是有效日期（YYYY-MM-DD）：{value[:20]}")
        if channel not in (None, "") and channel not in CHANNELS:
            errors.add("channel", "CHANNEL_INVALID", "受理渠道必须是 online 或 window")
        if len(days) == 2:
            if days["from"] > days["to"]:
                errors.add("to", "PERIOD_INVALID", "结束日期不能早于开始日期")
            elif (days["to"] - days["from"]).days >= MAX_DAYS:
                errors.add("to", "PERIOD_TOO_LONG", f"统计期间最长 {MAX_DAYS} 天")
        errors.raise_if_any()
        return cls(days["from"], days["to"], channel or None)

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first_day, dt.time(), tzinfo=BEIJING).astimezone(dt.UTC)

    @property
    def end(self) -> dt.datetime:
        """Exclusive: midnight (Beijing) after the last day."""
        return dt.datetime.combine(self.last_day + dt.timedelta(days=1), dt.time(), tzinfo=BEIJING).astimezone(dt.UTC)

    def days(self) -> list[dt.date]:
        return [self.first_day + dt.timedelta(days=i) for i in range((self.last_day - self.first_day).days + 1)]


def nearest_rank(values: Sequence[int], share: float) -> int | None:
    """The nearest-rank percentile (``share`` in (0, 1]) of ``values``; ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def weighted_nearest_rank(counted: Sequence[tuple[int, int]], share: float) -> int | None:
    """:func:`nearest_rank` of values given as ``(value, how many times)``."""
    total = sum(n for _v, n in counted)
    if not total:
        return None
    rank, seen = max(1, math.ceil(share * total)), 0
    for value, n in sorted(counted):
        seen += n
        if seen >= rank:
            return value
    return None  # pragma: no cover - the loop always reaches the rank


@dataclass(frozen=True)
class OpenCounts:
    overdue: int
    due_today: int


def _open_counts(deadlines: Iterable[dt.datetime | None], now: dt.datetime) -> OpenCounts:
    today = now.astimezone(BEIJING).date()
    overdue = due_today = 0
    for deadline in deadlines:
        if deadline is None:
            continue
        if deadline < now:
            overdue += 1
        elif deadline.astimezone(BEIJING).date() == today:
            due_today += 1
    return OpenCounts(overdue, due_today)


def _verifications(deps: Collaborators, period: ReportPeriod) -> dict[str, int]:
    by_institution: Counter = Counter()
    for answer in deps.pm.hook.govcred_report_verifications(settings=deps.settings, start=period.start, end=period.end):
        by_institution.update(answer or {})
    return dict(sorted(by_institution.items()))


@dataclass(frozen=True)
class OperationsReport:
    """The summary plus what the operations page draws beside it."""

    period: ReportPeriod
    summary: dict[str, Any]
    reason_labels: dict[str, str]
    daily: list[tuple[dt.date, int, int]]  # (day, submitted, decided)
    reviewers: list[dict[str, Any]]
    verifications_by_institution: dict[str, int]
    deliveries_by_channel: dict[str, dict[str, int]]


def _compute(deps: Collaborators, period: ReportPeriod) -> tuple[dict[str, Any], dict[str, int]]:
    now = deps.clock.now()
    calendar = deps.calendar
    start, end, channel = period.start, period.end, period.channel
    with deps.uow(readonly=True) as uow:
        q = uow.reports
        by_channel = q.submitted_by_channel(start, end, channel)
        accepted = q.accepted(start, end, channel)
        actions = q.actions((RETURNED_ACTION, WITHDRAWN_ACTION), start, end, channel)
        decided = q.decision_counts(start, end, channel)
        working_days = [
            (calendar.working_days_between(submitted, decided_on), n)
            for submitted, decided_on, n in q.submission_decision_days(start, end, channel)
        ]
        reasons = Counter(q.rejection_reasons(start, end, channel))
        officer_added = q.rejections_with_officer_reasons(start, end, channel)
        if officer_added:
            reasons[OFFICER_REASON] = officer_added
        open_counts = _open_counts((d for _i, d in q.open_deadlines(OPEN_STATES, start, end, channel)), now)
        rating_count, rating_mean = q.ratings(start, end, channel)
        deliveries = q.deliveries(start, end)
    verifications = _verifications(deps, period)
    summary = {
        "applications": {
            "submitted": sum(by_channel.values()),
            "accepted": accepted,
            "returned": actions[RETURNED_ACTION],
            "approved": decided.approved,
            "rejected": decided.rejected,
            "withdrawn": actions[WITHDRAWN_ACTION],
        },
        "deadlines": {
            "decided_on_time": decided.on_time,
            "decided_late": decided.late,
            "open_overdue": open_counts.overdue,
            "open_due_today": open_counts.due_today,
        },
        "rejection_reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "channels": {name: by_channel.get(name, 0) for name in CHANNELS if channel in (None, name)},
        "working_days_to_decision": {
            "median": weighted_nearest_rank(working_days, 0.5),
            "p90": weighted_nearest_rank(working_days, 0.9),
        },
        "ratings": {"count": rating_count, "mean": round(rating_mean, 2) if rating_mean is not None else None},
        "verifications": sum(verifications.values()),
        "deliveries": deliveries,
    }
    return summary, verifications


def summary(deps: Collaborators, principal: Principal | None, period: ReportPeriod) -> dict[str, Any]:
    """The period's figures, in the shape ``govcred report --json`` prints (administrators)."""
    require_role(principal, "admin")
    return _compute(deps, period)[0]


def operations(deps: Collaborators, principal: Principal | None, period: ReportPeriod) -> OperationsReport:
    """Everything the operations page shows; its summary is :func:`summary`'s."""
    require_role(principal, "admin")
    figures, verifications = _compute(deps, period)
    labels = deps.credential_types.rule_labels()
    labels[OFFICER_REASON] = OFFICER_REASON_LABEL
    start, end, channel = period.start, period.end, period.channel
    with deps.uow(readonly=True) as uow:
        per_reviewer = uow.reports.reviewer_counts(start, end, channel)
        names = uow.officers.display_names([r for r in per_reviewer if r])
        deliveries_by_channel = uow.reports.deliveries_by_channel(start, end)
        submitted_by_day = uow.reports.submitted_by_day(start, end, channel)
        decided_by_day = uow.reports.decided_by_day(start, end, channel)
    reviewers = [
        {
            "reviewer": names.get(reviewer_id, "（系统）") if reviewer_id else "（系统）",
            "decided": counts.approved + counts.rejected,
            "on_time": counts.on_time,
            "late": counts.late,
        }
        for reviewer_id, counts in sorted(per_reviewer.items(), key=lambda kv: -(kv[1].approved + kv[1].rejected))
    ]
    daily = [(day, submitted_by_day.get(day, 0), decided_by_day.get(day, 0)) for day in period.days()]
    return OperationsReport(
        period=period,
        summary=figures,
        reason_labels={code: labels.get(code, code) for code in figures["rejection_reasons"]},
        daily=daily,
        reviewers=reviewers,
        verifications_by_institution=verifications,
        deliveries_by_channel=deliveries_by_channel,
    )


EXPORT_COLUMNS = (
    ("id", "申请编号"),
    ("channel", "受理渠道"),
    ("state", "状态"),
    ("name", "姓名（脱敏）"),
    ("id_number", "身份号码（脱敏）"),
    ("submitted_at", "提交时间"),
    ("accepted_at", "受理时间"),
    ("deadline", "办结期限"),
    ("decided_at", "办结时间"),
    ("result", "审批结果"),
    ("reasons", "不予办理原因代码"),
    ("permit_no", "证件号码"),
)
_STATE_ZH = {
    "draft": "草稿",
    "submitted": "已提交",
    "accepted": "已受理",
    "returned": "待补正",
    "approved": "已批准",
    "rejected": "不予办理",
    "withdrawn": "已撤回",
}
_CHANNEL_ZH = {"online": "网上", "window": "窗口"}


def _beijing(at: dt.datetime | None) -> str:
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if at else ""


def export_rows(deps: Collaborators, principal: Principal | None, period: ReportPeriod) -> list[list[str]]:
    """The period's applications, one row each, masked (no full name, ID or phone), Beijing time."""
    require_role(principal, "admin")
    rows = []
    with deps.uow(readonly=True) as uow:
        for r in uow.reports.application_rows(period.start, period.end, period.channel):
            codes = sorted({f["code"] for f in (r.findings or []) if f.get("severity") == models.BLOCKING})
            result = "" if r.approved is None else ("批准" if r.approved else "不予办理")
            rows.append(
                [
                    r.id,
                    _CHANNEL_ZH.get(r.channel, r.channel),
                    _STATE_ZH.get(r.state, r.state),
                    r.subject_name_masked,
                    r.subject_id_masked,
                    _beijing(r.submitted_at),
                    _beijing(r.accepted_at),
                    _beijing(r.deadline),
                    _beijing(r.decided_at),
                    result,
                    " ".join(codes),
                    r.permit_no or "",
                ]
            )
    return rows
