"""The working-day clock: official-notice holiday tables, deadlines, and what to do past them.

Each covered year comes from the State Council General Office's yearly notice (holidays and
调休 make-up workdays), shipped in ``core/data/calendar/cn-YYYY.json`` or imported by an
administrator into ``<data dir>/calendar/``. A deadline that reaches a year no notice covers
is still computed — weekends are rest days and no statutory holiday or its 补假
(:mod:`core.statutory_holidays`) counts as a working day — but it is marked provisional, and
the administrator is warned, because the coming notice will move days around.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from govcred.core.calendar.notice_table import YearTable, parse_year_table
from govcred.core.calendar.statutory import rule_rest_days
from govcred.core.clock import BEIJING, UTC
from govcred.core.exceptions import ConfigError, ErrorList, FieldError, ValidationError

logger = logging.getLogger("govcred.calendar")

YEAR_FILE = re.compile(r"^cn-(\d{4})\.json$")
#: Warn when the table ends this close to today: the next notice usually appears in
#: November, and a 2-working-day deadline near New Year must not fall off the table.
COVERAGE_WARNING_DAYS = 60
END_OF_DAY = dt.time(23, 59, 59)
BUILT_IN = "built-in"


@dataclass(frozen=True)
class Deadline:
    at: dt.datetime
    """End of the due day, 23:59:59 Beijing time, as aware UTC."""
    provisional: bool
    """True when a day counted lies in a year no notice covers."""
    due_date: dt.date
    """The due day in Beijing time."""


class WorkingCalendar:
    """Working days from year tables; rule-based and provisional outside them."""

    def __init__(self, tables: Iterable[YearTable], sources: Mapping[int, str] | None = None):
        self._tables = {table.year: table for table in tables}
        self._days_off = {year: table.days_off for year, table in self._tables.items()}
        self._makeup = {year: frozenset(table.makeup_workdays) for year, table in self._tables.items()}
        self._rule_days_off: dict[int, frozenset[dt.date]] = {}
        self.sources = dict(sources or {})
        self._missing_years_seen: set[int] = set()
        self._lock = threading.Lock()

    # -- coverage -----------------------------------------------------------------------
    @property
    def tables(self) -> Mapping[int, YearTable]:
        return dict(sorted(self._tables.items()))

    @property
    def covered_through(self) -> dt.date | None:
        """The last day of the last covered year (None without any table)."""
        return dt.date(max(self._tables), 12, 31) if self._tables else None

    def covers(self, day: dt.date) -> bool:
        return day.year in self._tables

    # -- counting -----------------------------------------------------------------------
    def is_working_day(self, day: dt.date) -> bool:
        year = day.year
        if year in self._tables:
            if day in self._makeup[year]:
                return True
            if day in self._days_off[year]:
                return False
            return day.weekday() < 5
        if day.weekday() >= 5:
            return False
        rule_days = self._rule_days_off.get(year)
        if rule_days is None:
            rule_days = self._rule_days_off[year] = frozenset(rule_rest_days(year))
        return day not in rule_days

    def add_working_days(self, day: dt.date, n: int) -> tuple[dt.date, bool]:
        """The ``n``-th working day after ``day`` (``day`` itself is never counted), and
        whether any day examined lies outside the tables (the result is then provisional)."""
        if n < 0:
            raise ValidationError([FieldError("working_days", "NEGATIVE", "工作日数不能为负数")])
        missing: set[int] = set()
        current, counted = day, 0
        while counted < n:
            current += dt.timedelta(days=1)
            if not self.covers(current):
                missing.add(current.year)
            if self.is_working_day(current):
                counted += 1
        if missing:
            self._note_missing(missing)
        return current, bool(missing)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when ``end`` is not
        after ``start``): a decision on the day of submission took 0 working days, one on
        the next working day 1, as :meth:`add_working_days` counts them."""
        count, current = 0, start
        while current < end:
            current += dt.timedelta(days=1)
            if self.is_working_day(current):
                count += 1
        return count

    def deadline(self, accepted_at: dt.datetime, working_days: int = 2) -> Deadline:
        """End of the ``working_days``-th working day after the acceptance date (Beijing).

        Counting starts the day after acceptance whatever kind of day that was, so an
        application accepted on a rest day is in effect counted from the next working day.
        """
        errors = ErrorList()
        if accepted_at.tzinfo is None or accepted_at.utcoffset() is None:
            errors.add("accepted_at", "NAIVE_DATETIME", "受理时间必须带时区")
        if working_days < 1:
            errors.add("working_days", "TOO_SMALL", "工作日数至少为 1")
        errors.raise_if_any()
        accepted_on = accepted_at.astimezone(BEIJING).date()
        due_date, provisional = self.add_working_days(accepted_on, working_days)
        at = dt.datetime.combine(due_date, END_OF_DAY, tzinfo=BEIJING).astimezone(UTC)
        return Deadline(at=at, provisional=provisional, due_date=due_date)

    # -- warnings -----------------------------------------------------------------------
    def warnings(self, as_of: dt.date | dt.datetime) -> list[str]:
        """What an administrator must hear, each in Chinese and English."""
        if isinstance(as_of, dt.datetime):
            as_of = as_of.astimezone(BEIJING).date() if as_of.tzinfo else as_of.date()
        messages = []
        end = self.covered_through
        if end is None:
            messages.append(
                "尚未导入任何年度节假日安排，所有办结期限均为暂定。"
                " / No holiday notice is loaded; every deadline is provisional."
            )
        elif (end - as_of).days <= COVERAGE_WARNING_DAYS:
            next_year = end.year + 1
            messages.append(
                f"节假日安排仅覆盖至 {end.isoformat()}，请在国务院办公厅发布后导入《关于{next_year}年部分节假日安排的通知》"
                f"（govcred calendar import）。"
                f" / The holiday table ends on {end.isoformat()}; import the State Council notice for"
                f" {next_year} once it is published (govcred calendar import)."
            )
        with self._lock:
            missing = sorted(self._missing_years_seen)
        if missing:
            years = "、".join(str(y) for y in missing)
            years_en = ", ".join(str(y) for y in missing)
            messages.append(
                f"已有办结期限落入尚无节假日安排的年份（{years}），仅按周末、法定节假日及其补假推算，结果为暂定。"
                f" / Deadlines were computed into {years_en}, which no holiday notice covers yet;"
                " they are provisional (weekends, statutory holidays and their make-up days off only)."
            )
        return messages

    def _note_missing(self, years: set[int]) -> None:
        with self._lock:
            new = years - self._missing_years_seen
            self._missing_years_seen |= years
        if new:
            logger.warning(
                "%s 年的国务院节假日安排尚未导入，落入该年的办结期限为暂定（仅按周末、法定节假日及其补假推算），"
                "发布后请用 govcred calendar import 导入 / holiday table has no notice for %s; deadlines there "
                "are provisional (weekends, statutory holidays and their make-up days off only) — import the "
                "State Council notice with `govcred calendar import`",
                "、".join(str(y) for y in sorted(new)),
                ", ".join(str(y) for y in sorted(new)),
            )


# -- loading and importing -----------------------------------------------------------------


def load_calendar(data_dir: Path | None = None) -> WorkingCalendar:
    """The built-in tables, overridden year by year by ``<data_dir>/calendar/cn-YYYY.json``."""
    tables: dict[int, YearTable] = {}
    sources: dict[int, str] = {}
    built_in = resources.files("govcred.core") / "data" / "calendar"
    for entry in sorted(built_in.iterdir(), key=lambda e: e.name):
        if YEAR_FILE.match(entry.name):
            table = _load_year(entry.name, entry.read_text(encoding="utf-8"))
            tables[table.year], sources[table.year] = table, BUILT_IN
    if data_dir is not None:
        imported = Path(data_dir) / "calendar"
        if imported.is_dir():
            for path in sorted(imported.iterdir()):
                if YEAR_FILE.match(path.name):
                    table = _load_year(str(path), path.read_text(encoding="utf-8"))
                    tables[table.year], sources[table.year] = table, str(path)
    return WorkingCalendar(tables.values(), sources)


def import_notice(path: Path | str, data_dir: Path | str) -> YearTable:
    """Validate a year file and store it as ``<data_dir>/calendar/cn-YYYY.json``.

    Raises :class:`ValidationError` naming every problem; nothing is written then.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError(
            [FieldError("file", "UNREADABLE", f"无法读取文件 {path}：{exc.strerror or exc}")]
        ) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError([FieldError("file", "BAD_JSON", f"文件不是有效的 UTF-8 JSON：{exc}")]) from exc
    except RecursionError:  # no ValueError: JSON nested deeper than the parser recurses
        raise ValidationError([FieldError("file", "BAD_JSON", "文件不是有效的 JSON：嵌套层数过多")]) from None
    table = parse_year_table(data)
    target_dir = Path(data_dir) / "calendar"
    target_dir.mkdir(parents=True, exist_ok=True)
    _write_atomically(target_dir / f"cn-{table.year}.json", table.to_json())
    logger.info("imported holiday notice for %s from %s", table.year, path)
    return table


def _load_year(name: str, text: str) -> YearTable:
    """Parse a stored year file; a broken one is a configuration error naming every problem."""
    try:
        table = parse_year_table(json.loads(text))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"节假日文件 {name} 不是有效 JSON：{exc}") from exc
    except RecursionError:
        raise ConfigError(f"节假日文件 {name} 不是有效 JSON：嵌套层数过多") from None
    except ValidationError as exc:
        problems = "；".join(f"{e.field}: {e.message}" for e in exc.errors)
        raise ConfigError(f"节假日文件 {name} 有误：{problems}") from exc
    expected = int(YEAR_FILE.match(Path(name).name).group(1))
    if table.year != expected:
        raise ConfigError(f"节假日文件 {name} 的 year 为 {table.year}，与文件名不符")
    return table


def _write_atomically(target: Path, text: str) -> None:
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
