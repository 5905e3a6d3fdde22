"""Continuous Zhejiang residence registration ("累计连续登记满六个月", 浙江条例 art. 16).

Registrations anywhere in Zhejiang (division 33xxxx) merge into chains: ``ended`` is the
last day registered (None = still registered); the next registration continues the chain
when declared no later than ``ended + 1 + max_gap_days``; overlapping ones merge.

A registration outside Zhejiang counts for nothing and breaks the chain: a Zhejiang
registration declared after it (or on the same day) cannot join a chain begun before it.
The earlier chain keeps the days its own registrations cover -- if one of them is still
open it still covers the decision date, because the records say the person is registered
in Zhejiang.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from govcred.plugins.zhejiang_residence.identifiers import in_area, in_zhejiang
from govcred.plugins.zhejiang_residence.records import Registration

_ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Chain:
    start: dt.date
    #: last day registered; None while the latest-ending registration is open
    end: dt.date | None
    #: the most recently declared registration of the chain
    latest: Registration

    def covers(self, day: dt.date) -> bool:
        """The chain has begun by ``day`` and has not ended before it."""
        return self.start <= day and (self.end is None or self.end >= day)


def build_chains(
    registrations: Iterable[Registration], max_gap_days: int = 0, as_of: dt.date | None = None
) -> list[Chain]:
    """Merge registrations into chains, oldest first.

    Registrations declared after ``as_of`` are ignored (the decision looks at the records
    as of its date); so are ones whose ``ended`` precedes ``declared`` (inconsistent data).
    """
    # Non-Zhejiang registrations sort before Zhejiang ones of the same day so that they break.
    regs = sorted(
        (
            r
            for r in registrations
            if (as_of is None or r.declared <= as_of) and (r.ended is None or r.ended >= r.declared)
        ),
        key=lambda r: (r.declared, in_zhejiang(r.division)),
    )
    slack = dt.timedelta(days=max_gap_days + 1)
    chains: list[Chain] = []
    start: dt.date | None = None
    end: dt.date | None = None
    latest: Registration | None = None
    for reg in regs:
        if not in_zhejiang(reg.division):
            if latest is not None:
                chains.append(Chain(start, end, latest))  # type: ignore[arg-type]
                latest = None
            continue
        if latest is not None and (end is None or reg.declared <= end + slack):
            if end is not None:
                end = None if reg.ended is None else max(end, reg.ended)
            latest = reg
            continue
        if latest is not None:
            chains.append(Chain(start, end, latest))  # type: ignore[arg-type]
        start, end, latest = reg.declared, reg.ended, reg
    if latest is not None:
        chains.append(Chain(start, end, latest))  # type: ignore[arg-type]
    return chains


def qualifying_chain(
    registrations: Iterable[Registration], county_codes: tuple[str, ...], max_gap_days: int, on: dt.date
) -> Chain | None:
    """The earliest-starting chain that covers ``on`` and whose latest registration is in the county."""
    best: Chain | None = None
    for chain in build_chains(registrations, max_gap_days, on):
        if chain.covers(on) and in_area(chain.latest.division, county_codes):
            if best is None or chain.start < best.start:
                best = chain
    return best


def add_months(day: dt.date, months: int) -> dt.date:
    """The matching day ``months`` later, or that month's last day (民法典 art. 202)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def six_months_end(start: dt.date) -> dt.date:
    """Last day E of the six-month period counted from declaration day D (E = D + 6 months).

    The start day is not counted (民法典 art. 201) and the period ends on the matching
    day of the sixth month or that month's last day: 2026-03-31 -> 2026-09-30,
    2026-08-31 -> 2027-02-28.
    """
    return add_months(start, 6)


def six_months_met(start: dt.date, on: dt.date) -> bool:
    """Registered for six full months on ``on``: iff ``on`` is after the period's last day."""
    return on > six_months_end(start)
