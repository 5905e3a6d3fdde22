"""The bureau's report (core/services/reports.py) over a year of a county on SQLite.

After the servers' daily ``database-optimize`` job (SQLite statistics), over a seeded year of ~50,000 applications (tests/core/report_fixture.seed_year: most decided
within a few working days, a quarter rejected, a third rated). Figure: ``summary()`` for the
whole year, best of 5. Baseline in the same run: ``SELECT count(*)`` over the same rows (the
year's submissions, on the same index), the least any report of them could cost.
Target (issue 16): the report in under a second.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROUNDS = 5
COUNT = int(os.environ.get("GOVCRED_BENCH_REPORT_COUNT", "50000"))


def _best(fn) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    from govcred.core.clock import BEIJING, FixedClock
    from govcred.core.db import optimize
    from govcred.core.orm import applications
    from govcred.core.services.reports import ReportPeriod, summary
    from govcred.testing import make_pm, make_runtime, make_settings, migrated_sqlite
    from tests.core.permits import make_officer
    from tests.core.report_fixture import seed_year

    with tempfile.TemporaryDirectory() as tmp:
        db = migrated_sqlite(Path(tmp) / "report.sqlite3", make_pm())
        settings = make_settings(Path(tmp) / "var", f"sqlite:///{db}")
        rt = make_runtime(settings, FixedClock(dt.datetime(2027, 1, 4, 10, tzinfo=BEIJING)))
        try:
            started = time.perf_counter()
            seed_year(rt, COUNT, batch=5000)
            print(f"seeded {COUNT} applications in {time.perf_counter() - started:.0f} s")
            optimize(rt.engine)  # what the servers' daily database-optimize job does
            admin = make_officer(rt, "admin")
            period = ReportPeriod.parse("2026-01-01", "2026-12-31")
            figures = summary(rt.collaborators, admin, period)
            assert figures["applications"]["submitted"] == COUNT, figures["applications"]
            report = _best(lambda: summary(rt.collaborators, admin, period))
            count_query = sa.select(sa.func.count()).where(
                applications.c.submitted_at >= period.start, applications.c.submitted_at < period.end
            )

            def count_rows() -> int:
                with rt.engine.connect() as conn:
                    return conn.execute(count_query).scalar_one()

            baseline = _best(count_rows)
        finally:
            rt.close()
    print(f"report summary over a year ({COUNT} applications, SQLite): {report * 1000:.0f} ms (target < 1000 ms)")
    print(f"  baseline SELECT count(*) over the same rows: {baseline * 1000:.1f} ms; ratio {report / baseline:.0f}x")
    print(
        f"  figures: decided on time {figures['deadlines']['decided_on_time']}, late "
        f"{figures['deadlines']['decided_late']}, median {figures['working_days_to_decision']['median']} wd"
    )


if __name__ == "__main__":
    main()
