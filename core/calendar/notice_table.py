"""One year of the State Council holiday notice as data: parsing, validation, serialisation.

File format (``cn-YYYY.json``)::

    {"year": 2026,
     "source_notice": {"title": "国务院办公厅关于2026年部分节假日安排的通知",
                       "document_number": "国办发明电〔2025〕7号",   # optional
                       "published": "2025-11-04", "url": "https://www.gov.cn/..."},
     "holidays": [{"name": "春节", "days": ["2026-02-15", ...]}, ...],
     "makeup_workdays": ["2026-02-14", ...]}

``holidays`` lists every day of each break as the notice gives it (weekend days included);
``makeup_workdays`` the weekend days the notice turns into workdays (调休上班).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from govcred.core.calendar.statutory import FIRST_YEAR, LAST_YEAR, statutory_holidays
from govcred.core.exceptions import ErrorList

TOP_LEVEL_FIELDS = frozenset({"year", "source_notice", "holidays", "makeup_workdays"})
NOTICE_FIELDS = frozenset({"title", "document_number", "published", "url"})
#: From 2025 the statutory days are the amended ones (除夕 included); checking older notices
#: against them would flag 2024's 除夕, which was not a holiday.
STATUTORY_CHECK_FROM = 2025


@dataclass(frozen=True)
class SourceNotice:
    title: str
    published: dt.date
    url: str
    document_number: str | None = None

    def reference(self) -> str:
        """How a person cites the notice: title and, when known, document number."""
        number = f"（{self.document_number}）" if self.document_number else ""
        return f"《{self.title}》{number}"


@dataclass(frozen=True)
class Holiday:
    name: str
    days: tuple[dt.date, ...]


@dataclass(frozen=True)
class YearTable:
    year: int
    source_notice: SourceNotice
    holidays: tuple[Holiday, ...]
    makeup_workdays: tuple[dt.date, ...]

    @property
    def days_off(self) -> frozenset[dt.date]:
        return frozenset(day for holiday in self.holidays for day in holiday.days)

    def as_dict(self) -> dict[str, Any]:
        notice: dict[str, Any] = {"title": self.source_notice.title}
        if self.source_notice.document_number:
            notice["document_number"] = self.source_notice.document_number
        notice["published"] = self.source_notice.published.isoformat()
        notice["url"] = self.source_notice.url
        return {
            "year": self.year,
            "source_notice": notice,
            "holidays": [{"name": h.name, "days": [d.isoformat() for d in h.days]} for h in self.holidays],
            "makeup_workdays": [d.isoformat() for d in self.makeup_workdays],
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=2) + "\n"


def parse_year_table(data: Any) -> YearTable:
    """Validate a decoded year file and build its table.

    Raises :class:`core.exceptions.ValidationError` listing every problem found.
    """
    errors = ErrorList()
    if not isinstance(data, Mapping):
        errors.add("$", "NOT_AN_OBJECT", "年度节假日文件必须是 JSON 对象")
        errors.raise_if_any()
    for unknown in sorted(set(data) - TOP_LEVEL_FIELDS):
        errors.add(unknown, "UNKNOWN_FIELD", f"未知字段“{unknown}”")

    year = data.get("year")
    if isinstance(year, bool) or not isinstance(year, int):
        errors.add("year", "REQUIRED" if year is None else "NOT_AN_INTEGER", "年份（year）必须是整数，如 2027")
        year = None
    elif not FIRST_YEAR <= year <= LAST_YEAR:
        errors.add("year", "OUT_OF_RANGE", f"年份必须在 {FIRST_YEAR}–{LAST_YEAR} 之间")
        year = None

    notice = _parse_notice(data.get("source_notice"), errors)
    holidays = _parse_holidays(data.get("holidays"), year, errors)
    makeup = _parse_makeup_workdays(data.get("makeup_workdays"), year, errors)

    holiday_days: dict[dt.date, str] = {}
    for index, _name, days in holidays:
        for position, day in days:
            where = f"holidays[{index}].days[{position}]"
            if day in holiday_days:
                errors.add(where, "DUPLICATE_DAY", f"{day.isoformat()} 重复出现（已在 {holiday_days[day]} 中）")
            holiday_days.setdefault(day, where)
    seen_makeup: dict[dt.date, str] = {}
    for position, day in makeup:
        where = f"makeup_workdays[{position}]"
        if day in seen_makeup:
            errors.add(where, "DUPLICATE_DAY", f"{day.isoformat()} 重复出现（已在 {seen_makeup[day]} 中）")
        seen_makeup.setdefault(day, where)
        if day in holiday_days:
            errors.add(
                where, "HOLIDAY_AND_WORKDAY", f"{day.isoformat()} 同时是放假日（{holiday_days[day]}）和调休上班日"
            )
        if day.weekday() < 5:
            errors.add(where, "MAKEUP_NOT_WEEKEND", f"调休上班日 {day.isoformat()} 不是周六或周日")
    if year is not None and year >= STATUTORY_CHECK_FROM and not errors:
        for day, name in statutory_holidays(year).items():
            if day not in holiday_days:
                errors.add(
                    "holidays",
                    "STATUTORY_HOLIDAY_MISSING",
                    f"法定节假日 {day.isoformat()}（{name}）不在放假日中，请核对通知原文",
                )
    errors.raise_if_any()
    assert year is not None and notice is not None
    return YearTable(
        year=year,
        source_notice=notice,
        holidays=tuple(
            Holiday(name=name, days=tuple(sorted(day for _, day in days)))
            for _, name, days in holidays
            if name is not None
        ),
        makeup_workdays=tuple(sorted(day for _, day in makeup)),
    )


def _parse_notice(raw: Any, errors: ErrorList) -> SourceNotice | None:
    if raw is None:
        errors.add("source_notice", "REQUIRED", "缺少通知出处（source_notice：标题、发布日期、网址）")
        return None
    if not isinstance(raw, Mapping):
        errors.add("source_notice", "NOT_AN_OBJECT", "source_notice 必须是对象")
        return None
    for unknown in sorted(set(raw) - NOTICE_FIELDS):
        errors.add(f"source_notice.{unknown}", "UNKNOWN_FIELD", f"未知字段“{unknown}”")
    title = _required_text(raw, "title", "通知标题", errors)
    url = _required_text(raw, "url", "通知网址", errors)
    if url is not None and not url.startswith(("https://", "http://")):
        errors.add("source_notice.url", "NOT_A_URL", "通知网址必须以 https:// 或 http:// 开头")
        url = None
    published = None
    if raw.get("published") is None:
        errors.add("source_notice.published", "REQUIRED", "缺少通知发布日期（published）")
    else:
        published = _parse_date(raw["published"], "source_notice.published", errors)
    number = raw.get("document_number")
    if number is not None and (not isinstance(number, str) or not number.strip()):
        errors.add("source_notice.document_number", "NOT_TEXT", "文号必须是非空文本，如 国办发明电〔2025〕7号")
        number = None
    if title is None or url is None or published is None:
        return None
    return SourceNotice(title=title, published=published, url=url, document_number=number)


#: A parsed list of days, each with its index in the input so messages can point at it.
Days = list[tuple[int, dt.date]]


def _parse_holidays(raw: Any, year: int | None, errors: ErrorList) -> list[tuple[int, str | None, Days]]:
    if not isinstance(raw, list) or not raw:
        errors.add("holidays", "REQUIRED", "放假安排（holidays）必须是非空列表")
        return []
    holidays = []
    for index, entry in enumerate(raw):
        where = f"holidays[{index}]"
        if not isinstance(entry, Mapping):
            errors.add(where, "NOT_AN_OBJECT", '每项放假安排必须是 {"name", "days"} 对象')
            continue
        for unknown in sorted(set(entry) - {"name", "days"}):
            errors.add(f"{where}.{unknown}", "UNKNOWN_FIELD", f"未知字段“{unknown}”")
        name = _required_text(entry, "name", "节日名称", errors, prefix=where)
        days_raw = entry.get("days")
        if not isinstance(days_raw, list) or not days_raw:
            errors.add(f"{where}.days", "REQUIRED", "放假日期（days）必须是非空列表")
            continue
        holidays.append((index, name, _parse_days(days_raw, f"{where}.days", year, errors)))
    return holidays


def _parse_makeup_workdays(raw: Any, year: int | None, errors: ErrorList) -> Days:
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        errors.add("makeup_workdays", "NOT_A_LIST", "调休上班日（makeup_workdays）必须是日期列表")
        return []
    return _parse_days(raw, "makeup_workdays", year, errors)


def _parse_days(raw: list[Any], where: str, year: int | None, errors: ErrorList) -> Days:
    """Parse a list of dates; a bad entry is reported and left out."""
    days = []
    for position, value in enumerate(raw):
        day = _parse_date(value, f"{where}[{position}]", errors)
        if day is None:
            continue
        if year is not None and day.year != year:
            errors.add(f"{where}[{position}]", "OUTSIDE_YEAR", f"{day.isoformat()} 不在 {year} 年内")
            continue
        days.append((position, day))
    return days


def _parse_date(value: Any, where: str, errors: ErrorList) -> dt.date | None:
    # Only YYYY-MM-DD: Python 3.11 also reads ISO week dates such as 2027-W09-1.
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    errors.add(where, "BAD_DATE", f"“{value}”不是有效日期（格式 YYYY-MM-DD）")
    return None


def _required_text(
    raw: Mapping[str, Any], key: str, label: str, errors: ErrorList, prefix: str = "source_notice"
) -> str | None:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        errors.add(f"{prefix}.{key}", "REQUIRED", f"缺少{label}（{key}）")
        return None
    return value.strip()
