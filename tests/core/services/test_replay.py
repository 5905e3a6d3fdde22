"""Replayable decisions: what a decision was judged on is recorded with it, and judging it again
on that gives the same findings, whatever the live records became since."""

from __future__ import annotations

import json

import sqlalchemy as sa

from govcred.core.orm import decision_bases
from govcred.core.services import decisions, intake, replay
from tests.core.workflow_helpers import APPLICANT_ID, document, import_records, officer, resident, upload


def _decided(runtime, *, approve=True):
    alice, reviewer = resident(runtime, "13800138000"), officer(runtime, "reviewer", "reviewer1")
    import_records(runtime)
    app = intake.submit_application(
        runtime.collaborators, document([upload(runtime, alice)]), principal=alice, channel="online"
    )
    reasons = () if approve else ("材料不清晰",)
    decisions.decide(runtime.collaborators, app.id, approve=approve, principal=reviewer, officer_reasons=reasons)
    return app


def test_a_fresh_decision_replays_identically_and_records_its_basis(runtime):
    app = _decided(runtime)
    result = replay.replay(runtime.collaborators, app.id)
    assert result.identical and result.document_intact and not result.live
    assert result.basis.ruleset.startswith("govcred==") and " rules=sha256:" in result.basis.ruleset
    assert result.basis.input_digest.startswith("sha256:") and len(result.basis.input_digest) == 71
    assert result.basis.records_digest.startswith("sha256:")
    assert result.basis.records["source"] != "none"  # the local register knew the person


def test_the_records_snapshot_is_encrypted_at_rest(runtime):
    _decided(runtime)
    with runtime.engine.connect() as conn:
        blob = conn.execute(sa.select(decision_bases.c.records_enc)).scalar_one()
    assert APPLICANT_ID.encode() not in blob and b"331121" not in blob
    with runtime.engine.connect() as conn:
        row = conn.execute(sa.select(decision_bases)).mappings().one()
    assert APPLICANT_ID not in json.dumps({k: str(v) for k, v in row.items() if k != "records_enc"})


def test_after_the_live_records_changed_the_snapshot_still_replays_identically_and_live_differs(runtime):
    app = _decided(runtime)
    # a later import says the person was registered only last month: too short a registration
    import_records(runtime, declared="2026-11-01")
    assert replay.replay(runtime.collaborators, app.id).identical
    live = replay.replay(runtime.collaborators, app.id, live=True)
    assert live.live and not live.identical
    assert live.recorded == [] and {f["code"] for f in live.only_replayed} == {"REGISTRATION_TOO_SHORT"}


def test_a_rejection_with_rule_findings_replays_them(runtime):
    alice, reviewer = resident(runtime, "13800138000"), officer(runtime, "reviewer", "reviewer1")
    import_records(runtime, declared="2026-11-01")
    app = intake.submit_application(
        runtime.collaborators, document([upload(runtime, alice)]), principal=alice, channel="online"
    )
    decision = decisions.decide(runtime.collaborators, app.id, approve=False, principal=reviewer)
    assert {f["code"] for f in decision.findings} >= {"REGISTRATION_TOO_SHORT"}
    import_records(runtime)  # the records were corrected since
    assert replay.replay(runtime.collaborators, app.id).identical
    live = replay.replay(runtime.collaborators, app.id, live=True)
    assert not live.identical and "REGISTRATION_TOO_SHORT" in {f["code"] for f in live.only_recorded}
