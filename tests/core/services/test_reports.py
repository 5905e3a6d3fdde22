"""The bureau's figures against a hand-counted fortnight across the 2026 National Day holiday
and its make-up working day (tests/core/report_fixture.py explains every number)."""

from __future__ import annotations

import pytest

from govcred.core.exceptions import PermissionDenied, ValidationError
from govcred.core.services import reports
from govcred.core.services.reports import ReportPeriod, nearest_rank
from tests.core.permits import make_officer
from tests.core.report_fixture import EXPECTED, EXPECTED_WINDOW, FIRST, LAST, seed


@pytest.fixture
def seeded(runtime, clock):
    return seed(runtime, clock)


def test_the_summary_matches_the_hand_count(runtime, seeded):
    admin = make_officer(runtime, "admin")
    assert reports.summary(runtime.collaborators, admin, ReportPeriod.parse(FIRST, LAST)) == EXPECTED


def test_a_channel_filter_counts_that_channel_only(runtime, seeded):
    admin = make_officer(runtime, "admin")
    period = ReportPeriod.parse(FIRST, LAST, "window")
    assert reports.summary(runtime.collaborators, admin, period) == EXPECTED_WINDOW


def test_the_operations_view_carries_the_same_summary_and_labels(runtime, seeded):
    admin = make_officer(runtime, "admin")
    view = reports.operations(runtime.collaborators, admin, ReportPeriod.parse(FIRST, LAST))
    assert view.summary == EXPECTED
    assert view.reason_labels == {
        "REGISTRATION_TOO_SHORT": "居住登记不满六个月",
        "NO_QUALIFYING_CONDITION": "无符合条件的住所/就业/就读",
        "OFFICER_REASON": "审核人员补充理由",
    }
    by_day = {day.isoformat(): (submitted, decided) for day, submitted, decided in view.daily}
    assert len(by_day) == 15 and by_day["2026-10-09"] == (2, 2) and by_day["2026-10-10"] == (0, 1)
    assert sum(s for s, _ in by_day.values()) == EXPECTED["applications"]["submitted"]
    [reviewer] = view.reviewers
    assert reviewer == {"reviewer": "reviewer", "decided": 4, "on_time": 2, "late": 2}


def test_only_administrators_read_reports(runtime, seeded):
    reviewer = make_officer(runtime, "reviewer")
    with pytest.raises(PermissionDenied):
        reports.summary(runtime.collaborators, reviewer, ReportPeriod.parse(FIRST, LAST))


def test_a_bad_period_names_every_problem_at_once():
    with pytest.raises(ValidationError) as refused:
        ReportPeriod.parse("2026-13-01", "", "fax")
    assert {(e.field, e.code) for e in refused.value.errors} == {
        ("from", "DATE_INVALID"),
        ("to", "REQUIRED"),
        ("channel", "CHANNEL_INVALID"),
    }
    with pytest.raises(ValidationError) as backwards:
        ReportPeriod.parse("2026-10-12", "2026-09-28")
    assert [e.code for e in backwards.value.errors] == ["PERIOD_INVALID"]


def test_nearest_rank_percentiles():
    assert nearest_rank([], 0.5) is None
    assert nearest_rank([3], 0.9) == 3
    assert nearest_rank([8, 1, 3, 2], 0.5) == 2 and nearest_rank([8, 1, 3, 2], 0.9) == 8
