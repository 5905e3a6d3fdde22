"""One injectable clock, so tests can move time and every stored time is aware UTC."""
from __future__ import annotations

import datetime as dt
import threading

UTC = dt.timezone.utc
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
