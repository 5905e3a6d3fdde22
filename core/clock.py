"""One injectable clock, so tests can move time and every stored time is aware UTC."""

from __future__ import annotations

import datetime as dt
import threading

UTC = dt.UTC
BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


class Clock:
    """The real clock."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)

    def today_beijing(self) -> dt.date:
        return self.now().astimezone(BEIJING).date()


class FixedClock(Clock):
    """A clock that only moves when told to (tests, demos, ``--as-of``)."""

    def __init__(self, at: dt.datetime):
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._at

    def set(self, at: dt.datetime) -> None:
        with self._lock:
            self._at = at.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        with self._lock:
            self._at += dt.timedelta(**delta)


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """Return ``value`` as aware UTC; naive values (as SQLite returns them) are taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


#: Hours (Beijing time) in which holders may be sent messages: 08:00 up to 20:00.
DAYTIME_HOURS = (8, 20)


def next_daytime(at: dt.datetime, hours: tuple[int, int] = DAYTIME_HOURS) -> dt.datetime:
    """``at`` itself when it falls in the daytime hours in Beijing, else the next morning's
    start (as aware UTC). Reminders and notices to holders are never sent at night."""
    start, end = hours
    local = at.astimezone(BEIJING)
    if start <= local.hour < end:
        return at
    morning = local.replace(hour=start, minute=0, second=0, microsecond=0)
    if local.hour >= end:
        morning += dt.timedelta(days=1)
    return morning.astimezone(UTC)
