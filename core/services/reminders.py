"""Reminders a permit holder chose (短信定制化服务): what they are, when they may go out, and
the defaults for a permit without a stored choice (the choices are kept by
``uow.reminder_choices``).

Three reminders exist: the endorsement window opened (``endorsement_due``), the permit lapses
in a week (``week_before``), and the day after the permit was suspended for a missed
endorsement (``after_suspension``). A permit without a stored choice gets
:data:`DEFAULT_REMINDERS`.

The sweep emits each due reminder as a ``reminder`` notification (:mod:`govcred.core.notifications`)
with a ``not_before`` inside 08:00-20:00 Beijing time; the plugins that notify holders decide how
it travels, and queue it at most once per permit and lapse date (a sweep run again emits it
again; a re-signed version keeps the date, an endorsement moves it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from govcred.core.exceptions import ErrorList

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core.unit_of_work import UnitOfWork

ENDORSEMENT_DUE, WEEK_BEFORE, AFTER_SUSPENSION = "endorsement_due", "week_before", "after_suspension"
REMINDERS = (ENDORSEMENT_DUE, WEEK_BEFORE, AFTER_SUSPENSION)
REMINDER_LABELS = {
    ENDORSEMENT_DUE: "签注办理期开始时提醒",
    WEEK_BEFORE: "签注截止前一周提醒",
    AFTER_SUSPENSION: "证件中止使用次日提醒",
}
DEFAULT_REMINDERS = frozenset({ENDORSEMENT_DUE})


def date_zh(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def check_choice(reminders: object) -> list[str]:
    """The chosen reminders, deduplicated in the canonical order; every bad entry at once."""
    errors = ErrorList()
    if not isinstance(reminders, (list, tuple)):
        errors.add("reminders", "REMINDERS_INVALID", f"提醒须为列表，可选：{'、'.join(REMINDERS)}")
        errors.raise_if_any()
    for i, item in enumerate(reminders):  # type: ignore[arg-type]
        if item not in REMINDERS:
            errors.add(f"reminders[{i}]", "REMINDER_UNKNOWN", f"未知的提醒类型，可选：{'、'.join(REMINDERS)}")
    errors.raise_if_any()
    return [r for r in REMINDERS if r in reminders]  # type: ignore[operator]


def preferences(uow: UnitOfWork, permit_nos: Iterable[str]) -> dict[str, frozenset[str]]:
    """The chosen reminders of each permit (the defaults for permits without a choice)."""
    wanted = list(dict.fromkeys(permit_nos))
    found = uow.reminder_choices.chosen(wanted)
    return {p: found.get(p, DEFAULT_REMINDERS) for p in wanted}
