"""The working-day clock against the official notices, chinesecalendar, and the worked examples."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import chinese_calendar
import pytest
from chinese_calendar.constants import Holiday as OracleHoliday
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from govcred.core.calendar.notice_table import YearTable, parse_year_table
from govcred.core.calendar.statutory import lunar_to_solar, qingming, spring_festival_days, statutory_holidays
from govcred.core.calendar.working import Deadline, WorkingCalendar, import_notice, load_calendar
from govcred.core.clock import BEIJING, UTC
from govcred.core.exceptions import ConfigError, ValidationError

D = dt.date


def _days(year: int):
    day = D(year, 1, 1)
    while day.year == year:
        yield day
        day += dt.timedelta(days=1)


def _at_beijing(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=BEIJING)


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    return load_calendar()


def _without(years: set[int]) -> WorkingCalendar:
    """A calendar that treats ``years`` as not covered by any notice."""
    built_in = load_calendar()
    return WorkingCalendar([t for y, t in built_in.tables.items() if y not in years])


# -- the tables against the oracle -------------------------------------------------------------


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_every_day_of_covered_years_matches_chinesecalendar(calendar, year):
    mismatches = [day for day in _days(year) if calendar.is_working_day(day) != chinese_calendar.is_workday(day)]
    assert mismatches == []


def test_built_in_tables_cover_2024_to_2026_with_their_notices(calendar):
    assert sorted(calendar.tables) == [2024, 2025, 2026]
    assert calendar.covered_through == D(2026, 12, 31)
    notice = calendar.tables[2026].source_notice
    assert notice.document_number == "国办发明电〔2025〕7号"
    assert notice.published == D(2025, 11, 4)
    assert notice.url.startswith("https://www.gov.cn/")
    assert calendar.covers(D(2024, 1, 1)) and calendar.covers(D(2026, 12, 31))
    assert not calendar.covers(D(2027, 1, 1)) and not calendar.covers(D(2023, 12, 31))


def test_2026_working_day_count_is_248(calendar):
    assert sum(calendar.is_working_day(day) for day in _days(2026)) == 248


def test_national_day_week_2026(calendar):
    for day in range(1, 8):
        assert not calendar.is_working_day(D(2026, 10, day)), day
    assert calendar.is_working_day(D(2026, 9, 20))  # Sunday make-up workday
    assert calendar.is_working_day(D(2026, 10, 10))  # Saturday make-up workday
    assert calendar.is_working_day(D(2026, 10, 8))
    assert not calendar.is_working_day(D(2026, 10, 11))  # an ordinary Sunday


def test_spring_festival_2026(calendar):
    for day in range(15, 24):
        assert not calendar.is_working_day(D(2026, 2, day)), day
    assert calendar.is_working_day(D(2026, 2, 14))
    assert calendar.is_working_day(D(2026, 2, 28))
    assert calendar.is_working_day(D(2026, 2, 24))


# -- deadlines -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accepted", "due"),
    [
        ("2026-09-18T10:00:00", D(2026, 9, 21)),  # Fri -> Mon; Sun 9/20 is a make-up workday
        ("2026-02-12T09:00:00", D(2026, 2, 14)),  # Thu -> Sat make-up workday
        ("2026-02-13T16:30:00", D(2026, 2, 24)),  # Fri -> Tue after the Spring Festival
        ("2026-09-30T11:00:00", D(2026, 10, 9)),  # Wed -> Fri after National Day
    ],
)
def test_worked_examples_of_domain_notes(calendar, accepted, due):
    result = calendar.deadline(_at_beijing(accepted))
    assert result == Deadline(
        at=dt.datetime(due.year, due.month, due.day, 15, 59, 59, tzinfo=UTC),
        provisional=False,
        due_date=due,
    )
    assert result.at.astimezone(BEIJING).time() == dt.time(23, 59, 59)


def test_acceptance_date_is_taken_in_beijing_time(calendar):
    # 2026-09-17 17:00 UTC is already Friday 9/18 01:00 in Beijing.
    result = calendar.deadline(dt.datetime(2026, 9, 17, 17, 0, tzinfo=UTC))
    assert result.due_date == D(2026, 9, 21)
    # 2026-09-17 15:00 UTC is Thursday 23:00 in Beijing: Fri 9/18, Sun 9/20.
    assert calendar.deadline(dt.datetime(2026, 9, 17, 15, 0, tzinfo=UTC)).due_date == D(2026, 9, 20)


def test_accepted_on_a_rest_day_counts_from_next_working_day(calendar):
    # Saturday 10/3 inside National Day: 10/8 and 10/9 are the first two working days.
    assert calendar.deadline(_at_beijing("2026-10-03T12:00:00")).due_date == D(2026, 10, 9)
    # Saturday 2/14 is itself a workday, but the acceptance day is never counted.
    assert calendar.deadline(_at_beijing("2026-02-14T12:00:00")).due_date == D(2026, 2, 25)


def test_other_counts_and_bad_input(calendar):
    assert calendar.deadline(_at_beijing("2026-09-18T10:00:00"), working_days=1).due_date == D(2026, 9, 20)
    assert calendar.add_working_days(D(2026, 9, 30), 0) == (D(2026, 9, 30), False)
    with pytest.raises(ValidationError) as caught:
        calendar.deadline(dt.datetime(2026, 9, 18, 10), working_days=0)
    assert {e.field for e in caught.value.errors} == {"accepted_at", "working_days"}


def test_deadline_into_2027_is_provisional_and_skips_new_year(caplog):
    calendar = load_calendar()
    with caplog.at_level(logging.WARNING, logger="govcred.calendar"):
        result = calendar.deadline(_at_beijing("2026-12-30T10:00:00"))
    # Thu 12/31 counts; Fri 1/1 is 元旦; the weekend follows; Mon 1/4 is the 2nd working day.
    assert result.due_date == D(2027, 1, 4)
    assert result.provisional is True
    logged = [r.getMessage() for r in caplog.records if "2027" in r.getMessage()]
    # what the console shows an administrator leads in Chinese, like the calendar's other warnings
    assert logged and logged[0].startswith("2027 年的国务院节假日安排尚未导入，落入该年的办结期限为暂定")
    warnings = calendar.warnings(D(2026, 12, 30))
    assert any("2027" in w and "暂定" in w and "provisional" in w for w in warnings)


def test_years_the_rules_cannot_compute_are_refused(calendar):
    with pytest.raises(ValidationError) as caught:
        calendar.deadline(_at_beijing("2099-12-30T10:00:00"))
    assert [(e.field, e.code) for e in caught.value.errors] == [("year", "OUT_OF_RANGE")]


def test_deadline_inside_coverage_is_not_provisional_even_near_its_end(calendar):
    result = calendar.deadline(_at_beijing("2026-12-28T10:00:00"))
    assert (result.due_date, result.provisional) == (D(2026, 12, 30), False)


def test_warnings_when_table_ends_within_60_days():
    calendar = load_calendar()
    assert calendar.warnings(D(2026, 10, 1)) == []  # 91 days left, nothing computed past it
    end_warnings = calendar.warnings(D(2026, 11, 1))  # 60 days left
    assert len(end_warnings) == 1
    assert "2026-12-31" in end_warnings[0] and "2027" in end_warnings[0]
    assert "import the State Council notice" in end_warnings[0]


def test_no_table_at_all_is_provisional_everywhere():
    calendar = WorkingCalendar([])
    assert calendar.covered_through is None
    result = calendar.deadline(_at_beijing("2026-09-30T10:00:00"))
    # Rules only: 10/1-10/3 statutory, 10/4 Sun, Mon 10/5 made up for Sat 10/3;
    # Tue 10/6 and Wed 10/7 count (the notice actually gives them off as bridge days).
    assert (result.due_date, result.provisional) == (D(2026, 10, 7), True)
    assert any("No holiday notice" in w for w in calendar.warnings(D(2026, 9, 30)))


# -- the rule-based fallback against the oracle ---------------------------------------------------

ORACLE_YEARS = range(2004, 2027)
#: 清明、端午、中秋 became public holidays in 2008; 除夕 was one in 2008-2013 and again from 2025.
LUNAR_HOLIDAY_YEARS = range(2008, 2027)


@pytest.mark.parametrize("year", ORACLE_YEARS)
def test_qingming_matches_chinesecalendar_solar_terms(year):
    terms = chinese_calendar.get_solar_terms(D(year, 4, 1), D(year, 4, 30))
    assert [day for day, name in terms if name == "清明"] == [qingming(year)]


def test_qingming_matches_chinesecalendar_solar_terms_1900_to_2099():
    mismatches = []
    for year in range(1900, 2100):
        terms = chinese_calendar.get_solar_terms(D(year, 4, 1), D(year, 4, 30))
        if [day for day, name in terms if name == "清明"] != [qingming(year)]:
            mismatches.append(year)
    assert mismatches == []


@pytest.mark.parametrize("year", ORACLE_YEARS)
def test_lunar_new_year_is_a_spring_festival_holiday(year):
    eve, first, second, third = spring_festival_days(year)
    assert eve == first - dt.timedelta(days=1)
    for day in (first, second, third):
        assert chinese_calendar.get_holiday_detail(day) == (True, OracleHoliday.spring_festival.value)


def _in_oracle_break(day: dt.date, *names: OracleHoliday) -> bool:
    """A day off in the oracle, named after one of ``names`` (the oracle leaves weekend
    days inside a break unnamed), and not a bridge day: the festival day itself."""
    on, name = chinese_calendar.get_holiday_detail(day)
    named = name in {n.value for n in names} or (name is None and day.weekday() >= 5)
    return on and named and not chinese_calendar.is_in_lieu(day)


@pytest.mark.parametrize("year", LUNAR_HOLIDAY_YEARS)
def test_lunar_festivals_fall_in_their_oracle_breaks(year):
    # Mid-Autumn merged into the National Day break is named after National Day by the oracle.
    assert _in_oracle_break(lunar_to_solar(year, 8, 15), OracleHoliday.mid_autumn_festival, OracleHoliday.national_day)
    assert _in_oracle_break(lunar_to_solar(year, 5, 5), OracleHoliday.dragon_boat_festival)
    assert _in_oracle_break(qingming(year), OracleHoliday.tomb_sweeping_day)


def _statutory_then(year: int) -> dict[dt.date, str]:
    """The statutory days of ``year`` under the rules of that year: 除夕 was a holiday in
    2008-2013 and from 2025; 劳动节 had one day (5/1) until 2024."""
    days = statutory_holidays(year)
    if 2014 <= year <= 2024:
        days.pop(spring_festival_days(year)[0])
    if year <= 2024:
        days.pop(D(year, 5, 2))
    return days


@pytest.mark.parametrize("year", LUNAR_HOLIDAY_YEARS)
def test_uncovered_year_never_counts_a_statutory_holiday(year):
    calendar = WorkingCalendar([])
    for day, name in _statutory_then(year).items():
        assert not calendar.is_working_day(day), (day, name)
        # The oracle agrees these were days off, so the rule dates are the real ones.
        assert not chinese_calendar.is_workday(day), (day, name)


@pytest.mark.parametrize("year", range(2021, 2027))
def test_rule_days_off_are_real_days_off_and_only_bridge_days_are_missed(year):
    """With no table, every day the rules call a day off really was one (bar 2024's 除夕,
    not yet a holiday), and every real day off the rules count as working is a 调休 bridge
    day (in lieu), which only the notice can tell."""
    calendar = WorkingCalendar([])
    rule_off_but_worked = [
        day for day in _days(year) if not calendar.is_working_day(day) and chinese_calendar.is_workday(day)
    ]
    # Rest days the rules miss are the notice's make-up workdays, plus 2024's 除夕.
    assert all(day in chinese_calendar.workdays or day == D(2024, 2, 9) for day in rule_off_but_worked), (
        rule_off_but_worked
    )
    counted_but_off = [
        day for day in _days(year) if calendar.is_working_day(day) and not chinese_calendar.is_workday(day)
    ]
    assert all(chinese_calendar.is_in_lieu(day) for day in counted_but_off), counted_but_off


def test_weekend_statutory_holiday_gets_its_make_up_day_off():
    calendar = WorkingCalendar([])
    # 2026: 劳动节 5/2 is a Saturday, made up on Monday 5/4; 清明 4/5 Sunday -> Monday 4/6.
    assert not calendar.is_working_day(D(2026, 5, 4))
    assert not calendar.is_working_day(D(2026, 4, 6))
    # 2027: 初一 Sat 2/6 and 初二 Sun 2/7 are made up after 初三 (Mon 2/8) on 2/9 and 2/10.
    assert [calendar.is_working_day(D(2027, 2, d)) for d in range(4, 12)] == [
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        True,
    ]


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_year_removed_from_the_table_falls_back_to_rules(year):
    calendar = _without({year})
    assert not calendar.covers(D(year, 6, 1))
    for day, name in _statutory_then(year).items():
        assert not calendar.is_working_day(day), (day, name)
    # 3/11 is a Monday, Tuesday or Wednesday in these years; no holiday is near.
    due, provisional = calendar.add_working_days(D(year, 3, 11), 2)
    assert provisional and due == D(year, 3, 13)
    assert any(str(year) in w for w in calendar.warnings(D(year, 3, 11)))


# -- loading and importing ----------------------------------------------------------------------


def fake_2027_notice() -> dict:
    """A plausible 2027 schedule: the statutory days and breaks the 2025 rules imply."""

    def span(start: str, days: int) -> list[str]:
        first = D.fromisoformat(start)
        return [(first + dt.timedelta(days=i)).isoformat() for i in range(days)]

    return {
        "year": 2027,
        "source_notice": {
            "title": "国务院办公厅关于2027年部分节假日安排的通知",
            "published": "2026-11-20",
            "url": "https://www.gov.cn/zhengce/content/202611/example.htm",
        },
        "holidays": [
            {"name": "元旦", "days": span("2027-01-01", 3)},
            {"name": "春节", "days": span("2027-02-05", 9)},
            {"name": "清明节", "days": span("2027-04-03", 3)},
            {"name": "劳动节", "days": span("2027-05-01", 5)},
            {"name": "端午节", "days": span("2027-06-09", 1)},
            {"name": "中秋节", "days": span("2027-09-15", 1)},
            {"name": "国庆节", "days": span("2027-10-01", 7)},
        ],
        "makeup_workdays": ["2027-02-20", "2027-09-26", "2027-10-09"],
    }


def test_import_of_2027_notice_makes_2027_deadlines_final(tmp_path):
    notice_file = tmp_path / "notice.json"
    notice_file.write_text(json.dumps(fake_2027_notice(), ensure_ascii=False), encoding="utf-8")
    table = import_notice(notice_file, tmp_path / "data")
    assert isinstance(table, YearTable) and table.year == 2027
    stored = tmp_path / "data" / "calendar" / "cn-2027.json"
    assert json.loads(stored.read_text(encoding="utf-8"))["year"] == 2027
    assert [p.name for p in stored.parent.iterdir()] == ["cn-2027.json"]  # no temp file left

    calendar = load_calendar(tmp_path / "data")
    assert calendar.covered_through == D(2027, 12, 31)
    assert calendar.sources[2027] == str(stored)
    result = calendar.deadline(_at_beijing("2026-12-30T10:00:00"))
    assert (result.due_date, result.provisional) == (D(2027, 1, 4), False)
    # The imported make-up Saturday 2/20 now counts: Fri 2/19 -> Sat 2/20, Mon 2/22.
    assert calendar.deadline(_at_beijing("2027-02-18T10:00:00")).due_date == D(2027, 2, 20)
    assert calendar.warnings(D(2026, 12, 30)) == []


def test_imported_year_overrides_built_in(tmp_path):
    corrected = load_calendar().tables[2026].as_dict()
    corrected["makeup_workdays"].remove("2026-10-10")
    corrected["source_notice"]["title"] = "测试用：更正后的2026年安排"
    (tmp_path / "notice.json").write_text(json.dumps(corrected, ensure_ascii=False), encoding="utf-8")
    import_notice(tmp_path / "notice.json", tmp_path)
    calendar = load_calendar(tmp_path)
    assert calendar.tables[2026].source_notice.title == "测试用：更正后的2026年安排"
    assert not calendar.is_working_day(D(2026, 10, 10))
    assert load_calendar().is_working_day(D(2026, 10, 10))


def test_import_reports_every_problem_and_writes_nothing(tmp_path):
    bad = fake_2027_notice()
    del bad["source_notice"]
    bad["holidays"][0]["days"][1] = "2027-02-30"  # no such date
    bad["holidays"][1]["days"].append("2028-01-01")  # outside the year
    bad["holidays"][2]["days"].append("2027-02-06")  # duplicate of a Spring Festival day
    bad["makeup_workdays"] = ["2027-10-01", "2027-03-03", "2027-02-20", "2027-02-20", "2027-W09-6"]
    (tmp_path / "bad.json").write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        import_notice(tmp_path / "bad.json", tmp_path / "data")
    found = {(e.field, e.code) for e in caught.value.errors}
    assert found == {
        ("source_notice", "REQUIRED"),
        ("holidays[0].days[1]", "BAD_DATE"),
        ("holidays[1].days[9]", "OUTSIDE_YEAR"),
        ("holidays[2].days[3]", "DUPLICATE_DAY"),
        ("makeup_workdays[0]", "HOLIDAY_AND_WORKDAY"),  # 10/1 is a holiday ...
        ("makeup_workdays[0]", "MAKEUP_NOT_WEEKEND"),  # ... and a Friday
        ("makeup_workdays[1]", "MAKEUP_NOT_WEEKEND"),  # Wednesday
        ("makeup_workdays[3]", "DUPLICATE_DAY"),
        ("makeup_workdays[4]", "BAD_DATE"),  # an ISO week date is not accepted
    }
    assert not (tmp_path / "data").exists()


def test_import_catches_a_missing_statutory_holiday(tmp_path):
    notice = fake_2027_notice()
    notice["holidays"][4]["days"] = ["2027-06-10"]  # 端午 is 6/9
    (tmp_path / "n.json").write_text(json.dumps(notice, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        import_notice(tmp_path / "n.json", tmp_path)
    assert [(e.field, e.code) for e in caught.value.errors] == [("holidays", "STATUTORY_HOLIDAY_MISSING")]
    assert "2027-06-09" in caught.value.errors[0].message
    assert not (tmp_path / "calendar").exists()


def test_import_rejects_unreadable_and_malformed_files(tmp_path):
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        import_notice(tmp_path / "broken.json", tmp_path)
    assert caught.value.errors[0].code == "BAD_JSON"
    with pytest.raises(ValidationError) as caught:
        import_notice(tmp_path / "missing.json", tmp_path)
    assert caught.value.errors[0].code == "UNREADABLE"
    (tmp_path / "list.json").write_text("[]", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        import_notice(tmp_path / "list.json", tmp_path)
    assert caught.value.errors[0].code == "NOT_AN_OBJECT"


def test_stored_file_that_is_broken_or_misnamed_is_a_config_error(tmp_path):
    (tmp_path / "calendar").mkdir()
    wrong_year = fake_2027_notice()
    (tmp_path / "calendar" / "cn-2028.json").write_text(json.dumps(wrong_year), encoding="utf-8")
    with pytest.raises(ConfigError, match="cn-2028.json"):
        load_calendar(tmp_path)
    (tmp_path / "calendar" / "cn-2028.json").write_text('{"year": 2028}', encoding="utf-8")
    with pytest.raises(ConfigError, match="source_notice"):
        load_calendar(tmp_path)


def test_round_trip_of_built_in_tables(calendar):
    for table in calendar.tables.values():
        assert parse_year_table(json.loads(table.to_json())) == table


def test_files_other_than_year_files_are_ignored(tmp_path):
    (tmp_path / "calendar").mkdir()
    (tmp_path / "calendar" / "notes.json").write_text("not json", encoding="utf-8")
    assert sorted(load_calendar(tmp_path).tables) == [2024, 2025, 2026]


def test_built_in_data_files_are_where_the_package_data_says(calendar):
    data = Path(__file__).resolve().parents[3] / "core" / "data" / "calendar"
    assert sorted(p.name for p in data.glob("cn-*.json")) == ["cn-2024.json", "cn-2025.json", "cn-2026.json"]


# -- properties of counting ---------------------------------------------------------------------

_PROPERTY_CALENDAR = load_calendar()


@hypothesis_settings(max_examples=300, deadline=None)
@given(start=st.dates(min_value=D(2023, 6, 1), max_value=D(2028, 6, 1)), n=st.integers(1, 40))
def test_add_working_days_counts_exactly_n_working_days(start, n):
    due, provisional = _PROPERTY_CALENDAR.add_working_days(start, n)
    between = [start + dt.timedelta(days=i) for i in range(1, (due - start).days + 1)]
    assert _PROPERTY_CALENDAR.is_working_day(due)
    assert sum(map(_PROPERTY_CALENDAR.is_working_day, between)) == n
    assert provisional == any(not _PROPERTY_CALENDAR.covers(day) for day in between)
    # Within the tables the clock agrees with chinesecalendar's own count.
    if not provisional:
        assert sum(map(chinese_calendar.is_workday, between)) == n and chinese_calendar.is_workday(due)
