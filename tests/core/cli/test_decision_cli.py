"""`govcred decision replay`: exact JSON, exit 0 identical / 1 different / 2 not replayable."""

from __future__ import annotations

import json

from govcred.core.services import decisions, intake
from tests.core.workflow_helpers import document, import_records, officer, resident, upload


def _approved(runtime) -> str:
    alice, reviewer = resident(runtime, "13800138000"), officer(runtime, "reviewer", "reviewer1")
    import_records(runtime)
    app = intake.submit_application(
        runtime.collaborators, document([upload(runtime, alice)]), principal=alice, channel="online"
    )
    decisions.decide(runtime.collaborators, app.id, approve=True, principal=reviewer)
    return app.id


def test_replay_is_identical_for_a_fresh_decision_and_after_the_records_changed(runtime, govcred_cli):
    app_id = _approved(runtime)
    result = govcred_cli("decision", "replay", app_id, "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert set(answer) == {"identical", "recorded", "replayed", "ruleset"}
    assert answer["identical"] is True and answer["recorded"] == answer["replayed"] == []
    assert answer["ruleset"].startswith("govcred==")

    import_records(runtime, declared="2026-11-01")
    again = govcred_cli("decision", "replay", app_id, "--json")
    assert again.exit_code == 0 and json.loads(again.output) == answer

    live = govcred_cli("decision", "replay", app_id, "--live", "--json")
    assert live.exit_code == 1, live.output
    differing = json.loads(live.output)
    assert differing["identical"] is False and differing["recorded"] == []
    assert differing["replayed"] == ["REGISTRATION_TOO_SHORT"] and differing["ruleset"] == answer["ruleset"]


def test_the_text_shows_the_ruleset_the_digests_and_what_differs(runtime, govcred_cli):
    app_id = _approved(runtime)
    import_records(runtime, declared="2026-11-01")
    result = govcred_cli("decision", "replay", app_id, "--live")
    assert result.exit_code == 1
    assert "规则集（审批时）：govcred==" in result.output
    assert "申请材料摘要：sha256:" in result.output and "（一致）" in result.output
    assert "人口记录快照摘要：sha256:" in result.output
    assert "现在有、审批时没有：" in result.output and "[REGISTRATION_TOO_SHORT]" in result.output


def test_an_undecided_application_is_not_replayable(runtime, govcred_cli):
    alice = resident(runtime, "13800138000")
    app = intake.submit_application(
        runtime.collaborators, document([upload(runtime, alice)]), principal=alice, channel="online"
    )
    result = govcred_cli("decision", "replay", app.id, "--json")
    assert result.exit_code == 2 and "DECISION_NOT_REPLAYABLE" in result.output
