"""Decision deadlines (core/calendar.py): how fast a reviewer queue can be given its deadlines.

Baseline in the same run: ``chinese_calendar.find_workday(2, day)`` on the same acceptance
dates (the library the tables are checked against; it cannot go past 2026, so the covered
sample stays in 2024-2026). Also printed: the provisional path (acceptance dates in 2027-2029,
rule-based days off) and loading the tables from disk.
Method: each figure is the best of 5 rounds over the whole sample, per call.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

import chinese_calendar

from govcred.core.calendar.working import load_calendar
from govcred.core.clock import BEIJING

ROUNDS = 5


def _best_us_per_call(fn: Callable[[], object], calls: int) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best / calls * 1e6


def _acceptances(first: dt.date, last: dt.date) -> list[dt.datetime]:
    days = (last - first).days
    return [dt.datetime.combine(first + dt.timedelta(days=i), dt.time(10, 30), tzinfo=BEIJING) for i in range(days + 1)]


def main() -> None:
    # The provisional sample logs the "no notice for 2027" warning; expected here, so hushed
    # for this bench only (other benches run in the same process).
    logger = logging.getLogger("govcred.calendar")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        _run()
    finally:
        logger.setLevel(level)


def _run() -> None:
    calendar = load_calendar()
    covered = _acceptances(dt.date(2024, 1, 1), dt.date(2026, 12, 20))
    beyond = _acceptances(dt.date(2027, 1, 1), dt.date(2029, 12, 20))
    covered_dates = [moment.date() for moment in covered]

    ours = _best_us_per_call(lambda: [calendar.deadline(m) for m in covered], len(covered))
    baseline = _best_us_per_call(lambda: [chinese_calendar.find_workday(2, d) for d in covered_dates], len(covered))
    provisional = _best_us_per_call(lambda: [calendar.deadline(m) for m in beyond], len(beyond))
    loading = _best_us_per_call(load_calendar, 1)

    print(f"calendar deadline (+2 working days, 2024-2026): {ours:.2f} us/call")
    print(f"  baseline chinese_calendar.find_workday(2, d): {baseline:.2f} us/call; ratio {ours / baseline:.2f}x")
    print(f"calendar deadline, provisional (2027-2029): {provisional:.2f} us/call")
    print(f"load_calendar() (3 built-in years): {loading / 1000:.2f} ms")


if __name__ == "__main__":
    main()
