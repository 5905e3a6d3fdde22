"""The workflow use cases on SQLite and PostgreSQL: intake, acceptance, evaluation, decisions, issuance."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from govcred.core import qr
from govcred.core.clock import BEIJING
from govcred.core.exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from govcred.core.keys import KeySet
from govcred.core.orm import applications, audit_log, credentials, outbox
from govcred.core.services import decisions, eligibility, intake, issuance
from govcred.core.tokens import CREDENTIAL, verify_token
from tests.core.workflow_helpers import document, import_records, officer, resident, upload
from tests.plugins.zhejiang_residence.zj_fixtures import make_id


@pytest.fixture
def people(runtime):
    return {
        "alice": resident(runtime, "13800138000"),
        "bob": resident(runtime, "13900139000"),
        "clerk": officer(runtime, "clerk", "clerk1"),
        "reviewer": officer(runtime, "reviewer", "reviewer1"),
        "reviewer2": officer(runtime, "reviewer", "reviewer2"),
        "admin": officer(runtime, "admin", "admin1"),
    }


def _submit(rt, who, **top):
    return intake.submit_application(
        rt.collaborators, document([upload(rt, who)], **top), principal=who, channel="online"
    )


def _count(rt, table, *where) -> int:
    with rt.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar()


def test_online_submission_is_accepted_with_a_two_working_day_deadline(runtime, people):
    app = _submit(runtime, people["alice"])
    assert app.state == "accepted" and app.owner_id == people["alice"].id and app.created_by is None
    # accepted Monday 2026-11-30 (Beijing): due at the end of Wednesday 2026-12-02
    assert app.deadline.astimezone(BEIJING) == dt.datetime(2026, 12, 2, 23, 59, 59, tzinfo=BEIJING)
    assert app.deadline_provisional is False
    assert (
        app.subject_name_masked == "张*明" and app.subject_id_masked.startswith("3301") and "*" in app.subject_id_masked
    )
    actions = set(_actions(runtime))
    assert {"application.submitted", "application.accepted"} <= actions


def _actions(rt):
    with rt.engine.connect() as conn:
        return conn.execute(sa.select(audit_log.c.action).order_by(audit_log.c.seq)).scalars().all()


def test_every_problem_at_once_and_nothing_stored(runtime, people):
    alice, bob = people["alice"], people["bob"]
    bobs_file = upload(runtime, bob)
    doc = document(["no-such-file", bobs_file])
    doc["applicant"]["phone"] = "123"
    del doc["residence"]
    with pytest.raises(ValidationError) as caught:
        intake.submit_application(runtime.collaborators, doc, principal=alice, channel="online")
    fields = {(e.field, e.code) for e in caught.value.errors}
    assert ("conditions[0].attachments[0]", "ATTACHMENT_NOT_FOUND") in fields
    assert ("conditions[0].attachments[1]", "ATTACHMENT_NOT_FOUND") in fields  # bob's file is not alice's
    assert any(f == "applicant.phone" for f, _ in fields) and any(f == "residence" for f, _ in fields)
    assert _count(runtime, applications) == 0
    assert "application.submitted" not in _actions(runtime)


def test_unknown_schema_and_wrong_channel(runtime, people):
    with pytest.raises(ValidationError) as caught:
        intake.submit_application(
            runtime.collaborators, {"schema": "nope@1"}, principal=people["alice"], channel="online"
        )
    assert caught.value.errors[0].code == "SCHEMA_UNKNOWN"
    with pytest.raises(PermissionDenied):
        intake.submit_application(runtime.collaborators, document([]), principal=people["alice"], channel="window")
    with pytest.raises(PermissionDenied):
        intake.submit_application(runtime.collaborators, document([]), principal=people["clerk"], channel="online")


def test_incomplete_materials_stay_submitted_until_a_clerk_accepts(runtime, people):
    app = intake.submit_application(runtime.collaborators, document([]), principal=people["alice"], channel="online")
    assert app.state == "submitted" and app.deadline is None
    with pytest.raises(PermissionDenied):
        intake.accept_application(runtime.collaborators, app.id, people["reviewer"])
    accepted = intake.accept_application(runtime.collaborators, app.id, people["clerk"])
    assert accepted.state == "accepted" and accepted.deadline is not None


def test_approval_issues_a_verifiable_credential_that_fits_the_qr_budget(runtime, people):
    import_records(runtime)
    app = _submit(runtime, people["alice"])
    decision = decisions.decide(
        runtime.collaborators, app.id, approve=True, principal=people["reviewer"], expected_version=app.version
    )
    assert decision.approved and decision.credential_id and len(decision.credential_id) == 22
    cred = issuance.credential_for(runtime.collaborators, decision.credential_id)
    keys = KeySet.from_jwks(runtime.keystore.jwks(), runtime.settings.issuer)
    verified = verify_token(cred.token, CREDENTIAL, keys, clock=runtime.clock)
    claims = verified.claims
    assert claims["jti"] == cred.id and claims["iss"] == runtime.settings.issuer
    assert claims["n"] == "张*明" and claims["status"]["status_list"]["idx"] == cred.status_idx
    assert claims["exp"] <= claims["iat"] + runtime.settings.credential_max_days * 86400
    assert "nbf" not in claims  # equal to iat it would only cost QR modules
    assert cred.permit_no.startswith("ZJ3311212026") and len(cred.permit_no) == 20
    symbol = qr.make_qr(cred.token)
    assert symbol.version <= qr.VERSION_BUDGET, f"{len(cred.token)} chars need version {symbol.version}"
    with runtime.engine.connect() as conn:
        events = conn.execute(sa.select(outbox.c.event_type)).scalars().all()
    # the built-in plugins queue their messages: the SMS to the applicant, the push to the province
    assert sorted(events) == ["push.issued", "sms.approved", "sms.received"]
    assert {"application.approved", "credential.issued"} <= set(_actions(runtime))


def test_a_first_issue_stores_and_pushes_its_residence_start(runtime, people):
    import_records(runtime)
    app = _submit(runtime, people["alice"])
    decision = decisions.decide(
        runtime.collaborators, app.id, approve=True, principal=people["reviewer"], expected_version=app.version
    )
    cred = issuance.credential_for(runtime.collaborators, decision.credential_id)
    assert cred.residence_start is not None and cred.residence_start.isoformat() == cred.claims["rs"]
    with runtime.engine.connect() as conn:
        [payload] = conn.execute(sa.select(outbox.c.payload).where(outbox.c.event_type == "push.issued")).scalars()
    # GB/T 36903 extension 居住起始日期: on the first issue too, not only after an endorsement
    assert payload["record"]["KZ_JZQSRQ"] == cred.claims["rs"]


def test_rejection_records_every_blocking_reason_and_officer_reasons(runtime, people):
    app = _submit(
        runtime,
        people["alice"],
        applicant={
            "name": "张三明",
            "id_number": document([])["applicant"]["id_number"],
            "phone": "13800138000",
            "hukou_division": "331121",
            "hukou_address": "青田县",
        },
        residence={"division": "330102", "address": "杭州"},
        commitment={"accepted": False, "at": None},
    )
    with pytest.raises(Conflict) as refused:
        decisions.decide(runtime.collaborators, app.id, approve=True, principal=people["reviewer"])
    assert refused.value.code == "BLOCKING_FINDINGS_PRESENT"
    decision = decisions.decide(
        runtime.collaborators, app.id, approve=False, principal=people["reviewer"], officer_reasons=["材料照片模糊"]
    )
    codes = {f["code"] for f in decision.findings if f["severity"] == "blocking"}
    assert codes == {"LOCAL_HUKOU", "COMMITMENT_MISSING", "RESIDENCE_OUTSIDE_COUNTY", "REGISTRATION_NOT_CURRENT"}
    assert decision.officer_reasons == ["材料照片模糊"]
    assert _actions(runtime).count("decision.officer_reason") == 1
    assert "application.decide" in _actions(runtime)  # the refused approval left a failure entry


def test_four_eyes_and_roles(runtime, people):
    doc = document([upload(runtime, people["admin"])], channel="window")
    app = intake.submit_application(runtime.collaborators, doc, principal=people["admin"], channel="window")
    assert app.created_by == people["admin"].id and app.owner_id is None and app.state == "accepted"
    with pytest.raises(PermissionDenied) as caught:
        decisions.decide(runtime.collaborators, app.id, approve=False, principal=people["admin"], officer_reasons=["x"])
    assert caught.value.code == "FOUR_EYES"
    with pytest.raises(PermissionDenied):
        decisions.decide(runtime.collaborators, app.id, approve=False, principal=people["clerk"], officer_reasons=["x"])


def test_stale_version_and_second_decision_are_conflicts(runtime, people):
    import_records(runtime)
    app = _submit(runtime, people["alice"])
    with pytest.raises(Conflict) as caught:
        decisions.decide(
            runtime.collaborators, app.id, approve=True, principal=people["reviewer"], expected_version=app.version + 1
        )
    assert caught.value.code == "APPLICATION_CHANGED"
    decisions.decide(runtime.collaborators, app.id, approve=True, principal=people["reviewer"])
    with pytest.raises(Conflict):
        decisions.decide(
            runtime.collaborators, app.id, approve=False, principal=people["reviewer2"], officer_reasons=["x"]
        )


def test_two_reviewers_at_once_one_wins(runtime, people):
    import_records(runtime)
    app = _submit(runtime, people["alice"])
    results: list = []
    barrier = threading.Barrier(2)

    def attempt(who, approve):
        barrier.wait()
        try:
            results.append(
                decisions.decide(
                    runtime.collaborators,
                    app.id,
                    approve=approve,
                    principal=who,
                    officer_reasons=[] if approve else ["不同意"],
                    expected_version=app.version,
                )
            )
        except Conflict as exc:
            results.append(exc)

    threads = [
        threading.Thread(target=attempt, args=(people["reviewer"], True)),
        threading.Thread(target=attempt, args=(people["reviewer2"], False)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(results) == 2 and len(conflicts) == 1
    assert _count(runtime, credentials) == (
        1
        if not isinstance(results[0], Conflict)
        and results[0].approved
        or not isinstance(results[1], Conflict)
        and results[1].approved
        else 0
    )


def test_already_holding_a_permit_blocks_a_second_application(runtime, people):
    import_records(runtime)
    first = _submit(runtime, people["alice"])
    second = _submit(runtime, people["alice"])
    assert "ALREADY_HOLDS_PERMIT" in {
        f.code for f in eligibility.evaluate(runtime.collaborators, second)
    }  # first in progress
    intake.withdraw_application(runtime.collaborators, second.id, people["alice"])
    decisions.decide(runtime.collaborators, first.id, approve=True, principal=people["reviewer"])
    third = _submit(runtime, people["alice"])
    findings = eligibility.evaluate(runtime.collaborators, third)
    assert "ALREADY_HOLDS_PERMIT" in {f.code for f in findings if f.blocking}


def test_withdraw_only_own_application(runtime, people):
    app = _submit(runtime, people["alice"])
    with pytest.raises(NotFound):
        intake.withdraw_application(runtime.collaborators, app.id, people["bob"])
    assert intake.withdraw_application(runtime.collaborators, app.id, people["alice"]).state == "withdrawn"


def test_claims_merge_refuses_collisions_and_reserved_names():
    from govcred.core.exceptions import ConfigError

    lapse = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    merged, exp = issuance.merge_claims([{"a": 1, "_exp": lapse}, {"b": 2}, None])
    assert merged == {"a": 1, "b": 2} and exp == lapse
    with pytest.raises(ConfigError, match="'a' set by two plugins"):
        issuance.merge_claims([{"a": 1}, {"a": 2}])
    with pytest.raises(ConfigError, match="reserved"):
        issuance.merge_claims([{"exp": 1}])


def test_another_person_is_independent(runtime, people):
    other_id = make_id("19850512", seq="457")
    import_records(runtime, other_id)
    app = intake.submit_application(
        runtime.collaborators,
        document([upload(runtime, people["bob"])], id_number=other_id),
        principal=people["bob"],
        channel="online",
    )
    assert not [f for f in eligibility.evaluate(runtime.collaborators, app) if f.blocking]


def test_provisional_deadline_is_kept_and_warned_about(runtime, people, clock, caplog):
    clock.set(dt.datetime(2026, 12, 30, 2, 0, tzinfo=dt.UTC))  # counting runs into 2027: no notice yet
    with caplog.at_level("WARNING", logger="govcred.services"):
        app = _submit(runtime, people["alice"])
    assert app.state == "accepted" and app.deadline_provisional is True
    assert app.deadline.astimezone(BEIJING).date() > dt.date(2026, 12, 31)
    assert any(app.id in r.getMessage() for r in caplog.records)
    with runtime.uow(readonly=True) as uow:
        assert uow.applications.get(app.id).deadline_provisional is True
