import datetime as dt

import pytest

from govcred.plugins.zhejiang_residence.chains import (
    add_months,
    build_chains,
    qualifying_chain,
    six_months_end,
    six_months_met,
)
from govcred.plugins.zhejiang_residence.records import ResidenceRecords
from tests.plugins.zhejiang_residence.zj_fixtures import regs

D = dt.date.fromisoformat


@pytest.mark.parametrize(
    "start, end",
    [
        ("2026-03-31", "2026-09-30"),
        ("2026-08-31", "2027-02-28"),
        ("2027-08-31", "2028-02-29"),  # leap year
        ("2026-01-15", "2026-07-15"),
        ("2026-07-01", "2027-01-01"),
    ],
)
def test_six_months_end(start, end):
    assert six_months_end(D(start)) == D(end)


@pytest.mark.parametrize(
    "start, on, met",
    [
        ("2026-08-31", "2027-02-28", False),
        ("2026-08-31", "2027-03-01", True),
        ("2026-03-31", "2026-09-30", False),
        ("2026-03-31", "2026-10-01", True),
    ],
)
def test_six_months_met_is_strictly_after_the_last_day(start, on, met):
    assert six_months_met(D(start), D(on)) is met


def test_add_months_across_years():
    assert add_months(D("2026-12-31"), 2) == D("2027-02-28")
    assert add_months(D("2026-11-30"), 14) == D("2028-01-30")


def _chains(*rows, gap=0, on="2027-03-01"):
    return [
        (c.start.isoformat(), c.end and c.end.isoformat(), c.latest.division)
        for c in build_chains(ResidenceRecords.of(regs(*rows)).registrations, gap, D(on))
    ]


def test_back_to_back_continues_across_zhejiang_cities():
    assert _chains(("330102", "2026-01-01", "2026-06-30"), ("331121", "2026-07-01", None)) == [
        ("2026-01-01", None, "331121")
    ]


@pytest.mark.parametrize(
    "declared, gap, count",
    [("2026-07-01", 0, 1), ("2026-07-02", 0, 2), ("2026-07-03", 0, 2), ("2026-07-03", 2, 1), ("2026-07-04", 2, 2)],
)
def test_gaps(declared, gap, count):
    chains = _chains(("330200", "2026-01-01", "2026-06-30"), ("331121", declared, None), gap=gap)
    assert len(chains) == count
    assert chains[-1][0] == ("2026-01-01" if count == 1 else declared)


def test_overlaps_merge_and_keep_the_longest_end():
    assert _chains(
        ("330100", "2026-01-01", "2026-12-31"),
        ("331121", "2026-03-01", "2026-05-31"),  # inside the first
        ("331102", "2027-01-01", "2027-01-31"),
    ) == [("2026-01-01", "2027-01-31", "331102")]


def test_open_registration_keeps_chain_open():
    assert _chains(("330100", "2026-01-01", None), ("331121", "2026-03-01", "2026-05-31")) == [
        ("2026-01-01", None, "331121")
    ]


def test_non_zhejiang_registration_breaks_the_chain():
    chains = _chains(
        ("330100", "2026-01-01", "2026-03-31"),
        ("310101", "2026-04-01", "2026-04-30"),  # Shanghai
        ("331121", "2026-04-01", None),  # same day as Shanghai: still broken
    )
    assert chains == [("2026-01-01", "2026-03-31", "330100"), ("2026-04-01", None, "331121")]


def test_non_zhejiang_registrations_alone_make_no_chain():
    assert _chains(("310101", "2026-01-01", None)) == []


def test_registrations_declared_after_the_decision_date_are_ignored():
    assert _chains(("331121", "2027-03-02", None), on="2027-03-01") == []


def test_inconsistent_registration_is_ignored():
    assert _chains(("331121", "2026-05-01", "2026-04-01")) == []


def test_qualifying_chain_needs_cover_and_latest_in_county():
    on = D("2027-03-01")
    # latest registration in Hangzhou: the chain covers T but is not Qingtian's
    r = ResidenceRecords.of(regs(("331121", "2026-01-01", "2026-06-30"), ("330100", "2026-07-01", None))).registrations
    assert qualifying_chain(r, ("331121",), 0, on) is None
    # ended before T: does not cover
    r = ResidenceRecords.of(regs(("331121", "2026-01-01", "2027-02-28"))).registrations
    assert qualifying_chain(r, ("331121",), 0, on) is None
    # ended on T: covers
    r = ResidenceRecords.of(regs(("331121", "2026-01-01", "2027-03-01"))).registrations
    assert qualifying_chain(r, ("331121",), 0, on).start == D("2026-01-01")
    # township-level division of the county counts
    r = ResidenceRecords.of(
        regs(("330100", "2025-05-01", "2026-01-31"), ("331121101", "2026-02-01", None))
    ).registrations
    assert qualifying_chain(r, ("331121",), 0, on).start == D("2025-05-01")
