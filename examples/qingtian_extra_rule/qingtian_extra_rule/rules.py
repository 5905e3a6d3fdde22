"""The rule: the applicant's proofs must outlast the first endorsement, or they hear it now.

A permit is endorsed once a year, within the month before each anniversary of issue, and a
holder who no longer meets the conditions is not endorsed (《居住证暂行条例》第十条;
《浙江省流动人口居住登记条例》第十九条). An application whose every current condition -- a
rental contract, a labour contract, a school enrolment -- ends before that month opens is
eligible today, but its holder will need new proof to keep the permit. The finding is
advisory: it never blocks a decision.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from govcred.core import ADVISORY, Finding

CODE = "QT_CONDITIONS_END_BEFORE_ENDORSEMENT"
BASIS = "《居住证暂行条例》第十条；《浙江省流动人口居住登记条例》第十九条"
#: Qingtian county's division code: residences under it are this rule's business.
QINGTIAN = "331121"
KIND_ZH = {"residence": "住所", "employment": "就业", "schooling": "就读"}


def _date_zh(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _shift(day: dt.date, *, years: int = 0, months: int = 0) -> dt.date:
    """The same day ``years`` and ``months`` later, or that month's last day when it has none."""
    index = day.year * 12 + day.month - 1 + years * 12 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def first_endorsement_opens(decided_on: dt.date) -> dt.date:
    """The day the first endorsement window opens for a permit issued on ``decided_on``: one
    month before its first anniversary."""
    return _shift(decided_on, years=1, months=-1)


def _current(conditions: Iterable[Mapping[str, Any]], on: dt.date) -> list[tuple[str, dt.date | None]]:
    """``(kind, until)`` of each condition that holds on ``on`` (``until`` None: no end date)."""
    out = []
    for condition in conditions:
        since = dt.date.fromisoformat(condition["since"])
        until = dt.date.fromisoformat(condition["until"]) if condition.get("until") else None
        if since <= on and (until is None or until >= on):
            out.append((condition["kind"], until))
    return out


def conditions_end_before_endorsement(document: Mapping[str, Any], on: dt.date) -> list[Finding]:
    """The advisory finding when every condition current on ``on`` ends before the first
    endorsement month opens; nothing when one has no end date or lasts long enough, when
    none is current (the built-in rules already say so) or when the residence is not in
    Qingtian."""
    if not str(document["residence"]["division"]).startswith(QINGTIAN):
        return []
    current = _current(document.get("conditions") or (), on)
    if not current or any(until is None for _kind, until in current):
        return []
    last = max(until for _kind, until in current)
    opens = first_endorsement_opens(on)
    if last >= opens:
        return []
    kinds = "、".join(dict.fromkeys(KIND_ZH.get(kind, kind) for kind, _until in current))
    return [
        Finding(
            CODE,
            ADVISORY,
            f"您所填的{kinds}证明最迟于{_date_zh(last)}到期，早于居住证首次签注（{_date_zh(opens)}起办理）；"
            "签注时仍须符合申领条件，否则不予签注，请在到期前续签合同或准备新的证明材料",
            BASIS,
            "conditions",
        )
    ]
