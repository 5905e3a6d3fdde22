"""Statutory public holidays computed by rule, for years no State Council notice covers yet.

The yearly notice decides the actual days off and the 调休 make-up workdays; those cannot be
derived. What *can* be derived are the statutory holiday days themselves (《全国年节及纪念日放假办法》
as amended with effect from 2025-01-01): a day on this list is never a working day, whatever
the coming notice says. :mod:`core.calendar` uses them to keep a provisional deadline from
counting a holiday as a working day.

The law also says a holiday falling on a Saturday or Sunday is made up on a working day
(补假, art. 6); the notice almost always places it right after the festival, so
:func:`rule_rest_days` does the same. Bridge days and 调休 make-up workdays remain unknowable.

Lunar dates come from ``lunardate`` (1900-2099); 清明 is the day (Beijing time) the sun's
apparent longitude reaches 15°, from the low-precision solar theory of Meeus, *Astronomical
Algorithms* ch. 25 (about 0.01°, i.e. a quarter of an hour).
"""

from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache

from lunardate import LunarDate

from govcred.core.exceptions import FieldError, ValidationError

#: The years both the lunar conversion and the solar-term calculation are good for.
FIRST_YEAR = 1900
LAST_YEAR = 2099

FIXED_DATE_HOLIDAYS = (
    ("元旦", ((1, 1),)),
    ("劳动节", ((5, 1), (5, 2))),
    ("国庆节", ((10, 1), (10, 2), (10, 3))),
)

_J2000 = 2451545.0
_DAYS_PER_DEGREE = 365.2422 / 360.0
_BEIJING = dt.timedelta(hours=8)


def statutory_holidays(year: int) -> dict[dt.date, str]:
    """Every statutory holiday day of ``year`` (2025 rules) with its Chinese name."""
    return dict(_statutory_holidays(year))


@lru_cache(maxsize=256)
def _statutory_holidays(year: int) -> tuple[tuple[dt.date, str], ...]:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationError(
            [FieldError("year", "OUT_OF_RANGE", f"法定节假日只能推算 {FIRST_YEAR}–{LAST_YEAR} 年，无法推算 {year} 年")]
        )
    days: dict[dt.date, str] = {}
    for name, month_days in FIXED_DATE_HOLIDAYS:
        for month, day in month_days:
            days[dt.date(year, month, day)] = name
    for day in spring_festival_days(year):
        days[day] = "春节"
    days[qingming(year)] = "清明节"
    days[lunar_to_solar(year, 5, 5)] = "端午节"
    days[lunar_to_solar(year, 8, 15)] = "中秋节"
    return tuple(sorted(days.items()))


def rule_rest_days(year: int) -> dict[dt.date, str]:
    """Statutory holidays plus their 补假: for each statutory day on a weekend, the first
    weekday after that festival that is not already a day off."""
    return dict(_rule_rest_days(year))


@lru_cache(maxsize=256)
def _rule_rest_days(year: int) -> tuple[tuple[dt.date, str], ...]:
    days = statutory_holidays(year)
    festivals: dict[str, list[dt.date]] = {}
    for day, name in days.items():
        festivals.setdefault(name, []).append(day)
    for name, festival_days in sorted(festivals.items(), key=lambda item: min(item[1])):
        owed = sum(1 for day in festival_days if day.weekday() >= 5)
        candidate = max(festival_days)
        while owed:
            candidate += dt.timedelta(days=1)
            if candidate.weekday() < 5 and candidate not in days:
                days[candidate] = f"{name}（补假）"
                owed -= 1
    return tuple(sorted(days.items()))


def lunar_to_solar(lunar_year: int, month: int, day: int) -> dt.date:
    """The Gregorian date of a (non-leap-month) lunar date."""
    return LunarDate(lunar_year, month, day).to_solar_date()


def spring_festival_days(year: int) -> tuple[dt.date, ...]:
    """除夕 and 初一 to 初三 of the lunar year that begins in ``year``.

    除夕 is the day before 初一 whether the twelfth month has 29 or 30 days. When 初一 falls
    early in January-February, 除夕 is still in the same Gregorian year (the earliest 初一 is
    21 January).
    """
    new_year = lunar_to_solar(year, 1, 1)
    return tuple(new_year + dt.timedelta(days=offset) for offset in (-1, 0, 1, 2))


def qingming(year: int) -> dt.date:
    """The date, in Beijing time, of the 清明 solar term (sun's apparent longitude 15°)."""
    # Start from 5 April 00:00 UT and step by the longitude error; three steps converge.
    jde = _julian_day(dt.datetime(year, 4, 5)) + _delta_t_days(year)
    for _ in range(4):
        error = (15.0 - _apparent_solar_longitude(jde) + 180.0) % 360.0 - 180.0
        jde += error * _DAYS_PER_DEGREE
    moment_ut = _from_julian_day(jde - _delta_t_days(year))
    return (moment_ut + _BEIJING).date()


def _apparent_solar_longitude(jde: float) -> float:
    """Meeus ch. 25, low accuracy: apparent geocentric longitude of the sun in degrees."""
    t = (jde - _J2000) / 36525.0
    mean_longitude = 280.46646 + 36000.76983 * t + 0.0003032 * t * t
    anomaly = math.radians(357.52911 + 35999.05029 * t - 0.0001537 * t * t)
    centre = (
        (1.914602 - 0.004817 * t - 0.000014 * t * t) * math.sin(anomaly)
        + (0.019993 - 0.000101 * t) * math.sin(2 * anomaly)
        + 0.000289 * math.sin(3 * anomaly)
    )
    node = math.radians(125.04 - 1934.136 * t)
    return (mean_longitude + centre - 0.00569 - 0.00478 * math.sin(node)) % 360.0


def _delta_t_days(year: int) -> float:
    """TT - UT. A minute of error is noise next to the theory's quarter hour, so one
    parabola (Espenak-Meeus, fitted for 2005-2050) is used for the whole range."""
    u = year - 2000
    seconds = 62.92 + 0.32217 * u + 0.005589 * u * u
    return seconds / 86400.0


def _julian_day(moment: dt.datetime) -> float:
    return _J2000 + (moment - dt.datetime(2000, 1, 1, 12)).total_seconds() / 86400.0


def _from_julian_day(jd: float) -> dt.datetime:
    return dt.datetime(2000, 1, 1, 12) + dt.timedelta(days=jd - _J2000)
