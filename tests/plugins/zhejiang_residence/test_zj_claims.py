import datetime as dt

import pytest

from govcred.core.models import PersonRecords
from govcred.plugins.zhejiang_residence.benefits import BENEFIT_CODES, BENEFITS, benefit_mask
from govcred.plugins.zhejiang_residence.claims import (
    benefit_check,
    credential_claims,
    endorsement_anniversary,
    residence_start,
    use_lapses_at,
)
from govcred.plugins.zhejiang_residence.records import ExistingPermit
from tests.plugins.zhejiang_residence.zj_fixtures import APPLICANT_ID, base_document, context, permits, regs

BJ = dt.timezone(dt.timedelta(hours=8))


def test_claims_are_compact_and_minimal():
    issued = dt.datetime(2027, 3, 1, 2, 0, tzinfo=dt.UTC)
    claims = credential_claims(base_document(), context(), issued)
    assert claims == {
        "ct": "zj-rp",
        "n": "张*明",
        "idm": APPLICANT_ID[:4] + "*" * 10 + APPLICANT_ID[-4:],
        "cty": "331121",
        "b": "rr",
        "ben": 2 ** len(BENEFIT_CODES) - 1,
        "rs": "2026-08-31",
        "_exp": dt.datetime(2028, 3, 1, 23, 59, 59, tzinfo=BJ),
    }
    assert claims["_exp"].utcoffset() == dt.timedelta(hours=8)


def test_benefit_catalogue():
    assert set(BENEFIT_CODES) == {
        "compulsory_education",
        "public_employment",
        "public_health",
        "culture_sports",
        "legal_aid",
        "exit_entry",
        "id_card",
        "vehicle_registration",
        "driving_license",
        "vocational_exam",
        "birth_services",
    }
    compacts = [b.compact for b in BENEFITS.values()]
    assert len(set(compacts)) == len(compacts) and all(2 <= len(c) <= 3 for c in compacts)
    assert all(b.label_zh and not b.label_zh.isascii() for b in BENEFITS.values())


@pytest.mark.parametrize(
    "issued, anniversary",
    [("2027-03-01", "2028-03-01"), ("2028-02-29", "2029-02-28"), ("2026-12-31", "2027-12-31")],
)
def test_endorsement_anniversary(issued, anniversary):
    assert endorsement_anniversary(dt.date.fromisoformat(issued)) == dt.date.fromisoformat(anniversary)


def test_use_lapses_at_uses_the_beijing_date_of_issue():
    # 2027-02-28 17:00 UTC is already 1 March in Beijing
    late = dt.datetime(2027, 2, 28, 17, 0, tzinfo=dt.UTC)
    assert use_lapses_at(late) == dt.datetime(2028, 3, 1, 23, 59, 59, tzinfo=BJ)
    early = dt.datetime(2027, 2, 28, 15, 0, tzinfo=dt.UTC)
    assert use_lapses_at(early) == dt.datetime(2028, 2, 28, 23, 59, 59, tzinfo=BJ)


def test_residence_start_per_path():
    rows = regs(("330100", "2025-11-01", "2026-02-28"), ("331121", "2026-03-01", None))
    assert residence_start(base_document(), context(rows)) == dt.date(2025, 11, 1)
    held = permits(
        ExistingPermit("A", "330100", dt.date(2024, 5, 1), "revoked"),
        ExistingPermit("B", "330200", dt.date(2025, 6, 1), "valid"),
        ExistingPermit("C", "310101", dt.date(2023, 1, 1), "valid"),
    )
    doc = base_document(path="permit_conversion")
    assert residence_start(doc, context(held)) == dt.date(2025, 6, 1)
    assert credential_claims(doc, context(held), dt.datetime(2027, 3, 1, tzinfo=BJ))["b"] == "pc"
    assert residence_start(doc, context(PersonRecords())) == context().as_of
    assert residence_start(base_document(), context(PersonRecords())) == context().as_of


def test_benefit_check():
    claims = {"ct": "zj-rp", "ben": benefit_mask(("compulsory_education", "public_health"))}
    assert benefit_check(claims, "compulsory_education") is True
    assert benefit_check(claims, "driving_license") is False
    assert benefit_check(claims, "housing_fund") is None  # not ours
    assert benefit_check({"ct": "other", "ben": 1}, "compulsory_education") is None
    assert benefit_check({"ct": "zj-rp", "ben": "ce"}, "compulsory_education") is False
    assert benefit_check({"ct": "zj-rp", "ben": True}, "compulsory_education") is False
    assert benefit_check({"ct": "zj-rp", "ben": -1}, "compulsory_education") is False


def test_benefit_bits_are_unique_and_stable():
    """Bits are part of issued credentials: they may never be renumbered."""
    assert [BENEFITS[c].bit for c in BENEFIT_CODES] == list(range(len(BENEFIT_CODES)))
    assert BENEFITS["compulsory_education"].bit == 0 and BENEFITS["birth_services"].bit == 10
