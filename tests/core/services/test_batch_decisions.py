"""Batched approval: one confirmed action (a TOTP code), every rule-clean application of the
filtered queue approved with its own decision, credential, audit entries and messages; the
others left in the queue and named. Service, command line and API."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from govcred.core.accounts.officers import Principal
from govcred.core.audit_verify import verify_audit
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


def test_a_batch_writes_what_one_decision_at_a_time_writes(runtime):
    """The set-based writing (one executemany per table) keeps each application's message order
    after what was queued before, never queues a message twice, and leaves an audit log that
    verifies."""
    rt = runtime
    first, second, third = rule_clean_applications(rt, 3, first=200)
    with rt.uow() as uow:  # what intake queued earlier for two of them
        uow.outbox.add(
            "sms", "sms.received", {}, aggregate_type="application", aggregate_id=first, dedupe_key=f"x:{first}"
        )
        uow.outbox.add(
            "sms",
            "sms.approved",
            {},
            aggregate_type="application",
            aggregate_id=second,
            dedupe_key=f"sms:{second}:approved",
        )
        uow.commit()
    principal, seed = _reviewer(rt)
    report = approve_batch(rt.collaborators, principal, totp_code=totp_code(seed, rt))
    assert len(report.approved) == 3
    with rt.engine.connect() as conn:
        rows = conn.execute(
            sa.select(outbox.c.aggregate_id, outbox.c.event_type, outbox.c.aggregate_seq)
            .where(outbox.c.channel == "sms")
            .order_by(outbox.c.aggregate_id, outbox.c.aggregate_seq)
        ).all()
        entries = conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar()
    sms = {
        app: [(r.event_type, r.aggregate_seq) for r in rows if r.aggregate_id == app] for app in (first, second, third)
    }
    assert sms[first] == [("sms.received", 1), ("sms.approved", 2)]
    assert sms[second] == [("sms.approved", 1)]  # already queued: not a second text
    assert sms[third] == [("sms.approved", 1)]
    rt.checkpointer.checkpoint()
    report = verify_audit(rt.uow, rt.settings, rt.clock, rt.audit_witnesses, rt.secrets.audit_key)
    assert report.ok, report.problems
    assert entries >= 3 * 2 + 2  # an approval and an issue each, the confirmation, the summary


def test_a_records_source_that_answers_one_person_at_a_time_is_asked_so(runtime):
    """A live source implementing only govcred_person_records still comes first in a batch."""
    from govcred.core import PersonRecords, hookimpl

    rt = runtime
    (app_id,) = rule_clean_applications(rt, 1, first=300)

    class NoSuchPerson:
        asked: list[str] = []

        @hookimpl(tryfirst=True)
        def govcred_person_records(self, id_number):
            self.asked.append(id_number)
            return PersonRecords(source="live", data={"registrations": [], "permits": []})

    source = NoSuchPerson()
    rt.pm.register(source, name="live-records")
    try:
        principal, seed = _reviewer(rt)
        report = approve_batch(rt.collaborators, principal, totp_code=totp_code(seed, rt))
    finally:
        rt.pm.unregister(source)
    assert len(source.asked) == 1
    assert report.approved == [] and [s["application"] for s in report.skipped] == [app_id]
