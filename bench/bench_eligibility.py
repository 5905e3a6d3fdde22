"""Eligibility decisions, rules only (plugins/zhejiang_residence/rules.py).

Target (DESIGN.md): ≥ 5,000 decisions/s, aim ≥ 20,000/s. A decision = ``evaluate`` on a
valid document with its records already in the context (what the rules cost, without the
records look-up or storage). The mix has eligible and ineligible documents of both paths,
agents, minors and invalid ID numbers. Printed alongside, measured in the same run: the
document validation that precedes a decision, for scale.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from govcred.core.config import Settings
from govcred.core.models import EligibilityContext
from govcred.plugins.zhejiang_residence.document import records_from_document, validate_document
from govcred.plugins.zhejiang_residence.rules import evaluate, is_eligible
from tests.plugins.zhejiang_residence.zj_fixtures import base_document, make_id

SECONDS = 2.0
MUST, AIM = 5_000, 20_000


def document_mix() -> list[dict[str, Any]]:
    eligible = base_document()
    too_short = base_document(registrations=[{"division": "331121", "declared": "2027-01-15", "ended": None}])
    chain = base_document(
        registrations=[
            {"division": "330100", "declared": "2025-03-01", "ended": "2025-12-31"},
            {"division": "330200", "declared": "2026-01-01", "ended": "2026-06-30"},
            {"division": "331121001", "declared": "2026-07-01", "ended": None},
        ]
    )
    conversion = base_document(
        path="permit_conversion",
        registrations=None,
        existing_permit={
            "number": "ZJ-330100-1",
            "issuer_division": "330100",
            "issued": "2025-05-01",
            "status": "valid",
        },
    )
    suspended = base_document(
        path="permit_conversion",
        registrations=None,
        existing_permit={
            "number": "ZJ-330100-2",
            "issuer_division": "330100",
            "issued": "2024-05-01",
            "status": "suspended",
        },
    )
    minor = base_document()
    minor["applicant"]["id_number"] = make_id("20150601")
    minor["agent"] = {
        "name": "张大明",
        "id_number": make_id("19850101", "330102", "777"),
        "relation": "guardian",
        "reason": "minor",
    }
    invalid = base_document(commitment={"accepted": False, "at": None})
    invalid["applicant"]["id_number"] = "331121199003070018"
    invalid["residence"]["division"] = "331122"
    invalid["conditions"][0]["attachments"] = []
    waived = base_document(
        waiver={"basis": "recruited_talent", "reference": "青人才〔2027〕1号"},
        registrations=[{"division": "331121", "declared": "2027-02-20", "ended": None}],
    )
    return [eligible, too_short, chain, conversion, suspended, minor, invalid, waived]


def rate(fn: Callable[[], int]) -> float:
    """Items per second: repeat ``fn`` (which returns how many items it did) for SECONDS."""
    fn()  # warm-up
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < SECONDS:
        done += fn()
    return done / elapsed


def main() -> None:
    as_of = dt.date(2027, 3, 1)
    settings = Settings()
    docs = document_mix()
    assert all(validate_document(d) == [] for d in docs)
    cases = [(d, EligibilityContext(as_of=as_of, records=records_from_document(d), settings=settings)) for d in docs]
    outcomes = [is_eligible(evaluate(d, c)) for d, c in cases]

    def decide() -> int:
        for d, c in cases:
            evaluate(d, c)
        return len(cases)

    def validate() -> int:
        for d in docs:
            validate_document(d)
        return len(docs)

    decisions = rate(decide)
    validations = rate(validate)
    print(f"eligibility mix: {len(cases)} documents, {sum(outcomes)} eligible, {len(cases) - sum(outcomes)} ineligible")
    print(
        f"eligibility decisions (rules only): {decisions:,.0f}/s "
        f"(must >= {MUST:,}/s: {decisions / MUST:.1f}x; aim >= {AIM:,}/s: {decisions / AIM:.1f}x)"
    )
    print(
        f"document validation, same run: {validations:,.0f}/s (decision/validation ratio {decisions / validations:.2f})"
    )


if __name__ == "__main__":
    main()
