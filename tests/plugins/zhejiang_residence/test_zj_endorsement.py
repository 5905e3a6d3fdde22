"""The endorsement cycle of a 浙江省居住证: window, next anniversary, conditions re-checked."""

from __future__ import annotations

import datetime as dt

import pytest

from govcred.core.config import Settings
from govcred.core.models import EligibilityContext, PersonRecords
from govcred.plugins.zhejiang_residence.endorsement import (
    endorsement_findings,
    month_before,
    next_anniversary,
    window_for,
)
from tests.plugins.zhejiang_residence.zj_fixtures import base_document

D = dt.date


@pytest.mark.parametrize(
    "day, expected",
    [
        (D(2027, 3, 1), D(2027, 2, 1)),
        (D(2027, 3, 31), D(2027, 2, 28)),
        (D(2028, 3, 31), D(2028, 2, 29)),
        (D(2027, 1, 15), D(2026, 12, 15)),
    ],
)
def test_month_before_falls_on_the_month_end_when_the_day_is_missing(day, expected):
    assert month_before(day) == expected


def test_window_is_the_month_before_the_anniversary():
    assert window_for(D(2027, 3, 1)) == (D(2027, 2, 1), D(2027, 2, 28))


@pytest.mark.parametrize(
    "endorsed_on, expected",
    [
        (D(2027, 2, 1), D(2028, 3, 1)),  # first day of the window
        (D(2027, 3, 1), D(2028, 3, 1)),  # on the anniversary itself, before the lapse
        (D(2027, 3, 10), D(2028, 3, 1)),  # late
        (D(2028, 2, 15), D(2029, 3, 1)),  # a year late, inside the next window: covers that one too
        (D(2028, 4, 1), D(2029, 3, 1)),  # two anniversaries missed
    ],
)
def test_next_anniversary_skips_windows_already_open(endorsed_on, expected):
    assert next_anniversary(D(2027, 3, 1), endorsed_on) == expected


def test_a_29_february_issue_falls_on_28_february():
    assert next_anniversary(D(2029, 2, 28), D(2029, 2, 10)) == D(2030, 2, 28)


AS_OF = D(2027, 2, 10)


def _context(as_of=AS_OF):
    return EligibilityContext(as_of=as_of, records=PersonRecords(source="none"), settings=Settings())


def test_endorsement_of_an_eligible_holder_has_no_findings():
    assert endorsement_findings(base_document(), _context()) == []


def test_endorsement_names_every_reason_at_once():
    doc = base_document()
    doc["applicant"]["hukou_division"] = "331121"
    doc["residence"]["division"] = "330102"
    doc["conditions"][0]["until"] = "2026-12-31"
    codes = [f.code for f in endorsement_findings(doc, _context())]
    assert {"LOCAL_HUKOU", "RESIDENCE_OUTSIDE_COUNTY", "CONDITION_NOT_CURRENT", "NO_QUALIFYING_CONDITION"} <= set(codes)
    # what only matters at first issue is not asked again
    assert not {"REGISTRATION_TOO_SHORT", "ALREADY_HOLDS_PERMIT", "COMMITMENT_MISSING"} & set(codes)
