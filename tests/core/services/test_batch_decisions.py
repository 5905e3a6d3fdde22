"""Batched approval: one confirmed action (a TOTP code), every rule-clean application of the
filtered queue approved with its own decision, credential, audit entries and messages; the
others left in the queue and named. Service, command line and API."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from govcred.core.accounts.officers import Principal
from govcred.core.exceptions import AuthenticationRequired, ValidationError
from govcred.core.orm import audit_log, credentials, decisions, outbox
from govcred.core.services.batch_decisions import approve_batch
from govcred.core.web import create_app
from tests.core.web.pages.pagekit import add_officer, totp_code
from tests.core.workflow_helpers import PASSWORD, queued_applications, rule_clean_applications


def _reviewer(rt, name="batcher"):
    seed = add_officer(rt, name, "reviewer")
    with rt.uow(readonly=True) as uow:
        o = uow.officers.by_username(name)
    return Principal("officer", o.id, "reviewer", o.display_name), seed


def _count(rt, table, *where):
    with rt.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar()


def test_a_batch_approves_each_rule_clean_application_on_its_own(runtime):
    rt = runtime
    clean = rule_clean_applications(rt, 7, first=100)
    unknown = queued_applications(rt, 1, deadlines=lambda i: rt.clock.now())  # no registration: blocking
    principal, seed = _reviewer(rt)
    report = approve_batch(rt.collaborators, principal, totp_code=totp_code(seed, rt), chunk=3)
    assert sorted(a["application"] for a in report.approved) == sorted(clean)
    assert [s["application"] for s in report.skipped] == unknown and report.skipped[0]["codes"]
    assert report.transactions == 3  # 8 in the queue, 3 a transaction
    assert len({a["credential"] for a in report.approved}) == 7 and len({a["permit_no"] for a in report.approved}) == 7
    assert _count(rt, decisions) == 7 and _count(rt, credentials) == 7
    assert _count(rt, audit_log, audit_log.c.action == "application.approved") == 7
    assert _count(rt, audit_log, audit_log.c.action == "credential.issued") == 7
    assert _count(rt, audit_log, audit_log.c.action == "decision.batch_confirmed") == 1
    # every approval queued its own messages (SMS to the holder, the provincial push)
    with rt.engine.connect() as conn:
        per_credential = conn.execute(
            sa.select(outbox.c.aggregate_id, sa.func.count()).group_by(outbox.c.aggregate_id)
        ).all()
    assert len(per_credential) >= 7
    # the code confirmed this batch only
    with pytest.raises(AuthenticationRequired) as replay:
        approve_batch(rt.collaborators, principal, totp_code=totp_code(seed, rt))
    assert replay.value.code == "TOTP_REPLAYED"


def test_a_batch_checks_its_filters_before_spending_the_code(runtime):
    principal, seed = _reviewer(runtime)
    with pytest.raises(ValidationError) as bad:
        approve_batch(runtime.collaborators, principal, totp_code="000000", due="someday", limit=0)
    assert {e.field for e in bad.value.errors} == {"limit"}
    with pytest.raises(ValidationError) as bad_due:
        approve_batch(runtime.collaborators, principal, totp_code=totp_code(seed, runtime), due="someday")
    assert {e.field for e in bad_due.value.errors} == {"due"}
    # the code was not consumed by the refused call
    assert approve_batch(runtime.collaborators, principal, totp_code=totp_code(seed, runtime)).approved == []


def test_approve_batch_command_and_api(runtime, govcred_cli):
    rt = runtime
    rule_clean_applications(rt, 2)
    _principal, seed = _reviewer(rt)
    done = govcred_cli("review", "approve-batch", "--as", "batcher", "--totp", totp_code(seed, rt), "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["approved"] == 2
    client = create_app(runtime=rt).test_client()
    token = client.post("/api/v1/auth/token", json={"username": "batcher", "password": PASSWORD}).get_json()
    headers = {"Authorization": f"Bearer {token['access_token']}"} if "access_token" in token else {}
    if not headers:
        pytest.skip("the token sign-in asks for a second factor here")
    bad = client.post("/api/v1/review/batch-approve", json={"limit": 5, "color": "red"}, headers=headers)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.get_json()["errors"]} == {"totp", "color"}
    rt.clock.advance(seconds=60)
    rule_clean_applications(rt, 1, first=50)
    ok = client.post("/api/v1/review/batch-approve", json={"totp": totp_code(seed, rt)}, headers=headers)
    assert ok.status_code == 200 and ok.get_json()["approved"] == 1
