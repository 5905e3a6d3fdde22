"""The README tour's samples (examples/tour): the records import, the dry run says eligible, and
the same application submitted online reaches an approval and a credential that verifies."""

from __future__ import annotations

import json
from pathlib import Path

from govcred.core.keys import KeySet
from govcred.core.services import decisions, intake, issuance
from govcred.core.tokens import CREDENTIAL, verify_token
from tests.core.workflow_helpers import officer, resident, upload

TOUR = Path(__file__).resolve().parents[3] / "examples" / "tour"


def test_the_tour_samples_reach_an_approval(runtime, govcred_cli):
    imported = govcred_cli("records", "import", TOUR / "records.csv")
    assert imported.exit_code == 0, imported.output
    assert "已导入 1 人、1 条记录" in imported.output

    checked = govcred_cli("eligibility", "check", TOUR / "application.json", "--as-of", "2026-12-02", "--json")
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)["eligible"] is True

    # what the resident types into the web form: the sample's values, with a real proof upload
    document = json.loads((TOUR / "application.json").read_text(encoding="utf-8"))
    alice, reviewer = resident(runtime, document["applicant"]["phone"]), officer(runtime, "reviewer", "reviewer1")
    document["conditions"][0]["attachments"] = [upload(runtime, alice)]
    document["commitment"]["at"] = runtime.clock.now().isoformat()
    app = intake.submit_application(runtime.collaborators, document, principal=alice, channel="online")
    assert app.state == "accepted"
    decision = decisions.decide(runtime.collaborators, app.id, approve=True, principal=reviewer)
    assert decision.approved and decision.findings == []

    credential = issuance.credential_for(runtime.collaborators, decision.credential_id)
    keys = KeySet.from_jwks(runtime.keystore.jwks(), runtime.settings.issuer)
    assert verify_token(credential.token, CREDENTIAL, keys, clock=runtime.clock).claims["n"] == "王*明"
