"""How a deadline reads to a person: due date, working days left, due today, overdue."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from govcred.core.clock import BEIJING


@dataclass(frozen=True)
class DeadlineView:
    due_date: dt.date
    working_days_left: int
    due_today: bool
    overdue: bool
    provisional: bool

    @property
    def label(self) -> str:
        if self.overdue:
            return "已超期"
        if self.due_today:
            return "今日到期"
        return f"剩余 {self.working_days_left} 个工作日"


def deadline_view(
    calendar, deadline: dt.datetime | None, now: dt.datetime, provisional: bool = False
) -> DeadlineView | None:
    """``working_days_left`` counts the working days after today up to the due day (0 when due today)."""
    if deadline is None:
        return None
    today = now.astimezone(BEIJING).date()
    due = deadline.astimezone(BEIJING).date()
    left, day = 0, today
    while day < due:
        day += dt.timedelta(days=1)
        if calendar.is_working_day(day):
            left += 1
    return DeadlineView(
        due_date=due,
        working_days_left=left,
        due_today=(due == today and now <= deadline),
        overdue=now > deadline,
        provisional=provisional,
    )
