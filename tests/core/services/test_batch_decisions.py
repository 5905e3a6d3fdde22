"""Batched approval: one confirmed action (a TOTP code), every rule-clean application of the
filtered queue approved with its own decision, credential, audit entries and messages; the
others left in the queue and named. Service, command line and API."""

from __future__ import annotations

import base64
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
    rt.clock.advance(seconds=30)  # the command consumed this time step's code: the sign-in takes the next one
    signed_in = client.post(
        "/api/v1/auth/token", json={"username": "batcher", "password": PASSWORD, "totp": totp_code(seed, rt)}
    )
    assert signed_in.status_code == 200, signed_in.get_json()
    headers = {"Authorization": f"Bearer {signed_in.get_json()['access_token']}"}
    bad = client.post("/api/v1/review/batch-approve", json={"limit": 5, "color": "red"}, headers=headers)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.get_json()["errors"]} == {"totp", "color"}
    rt.clock.advance(seconds=60)
    rule_clean_applications(rt, 1, first=50)
    ok = client.post("/api/v1/review/batch-approve", json={"totp": totp_code(seed, rt)}, headers=headers)
    assert ok.status_code == 200 and ok.get_json()["approved"] == 1


def test_the_command_names_an_unknown_reviewer_and_a_malformed_code_at_once(runtime, govcred_cli):
    from govcred.core.exceptions import ValidationError

    refused = govcred_cli("review", "approve-batch", "--as", "nosuch", "--totp", "12")
    assert isinstance(refused.exception, ValidationError)  # the shell prints each, exit 2
    assert [(e.field, e.code) for e in refused.exception.errors] == [
        ("--as", "OFFICER_UNKNOWN"),
        ("--totp", "TOTP_INVALID"),
    ]


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


def _footprint(rt, app_id: str, reviewer_id: str) -> dict:
    """Every row one approval wrote, with what differs between two applications by nature (ids,
    the person, random numbers, signatures, ciphertexts) replaced by placeholders: what is
    left must be the same whichever path approved it."""
    from govcred.core.orm import applications, audit_pending, decision_bases
    from govcred.core.outbox import reveal_secrets
    from govcred.core.repository.decision_bases import _aad
    from govcred.core.ruleset import digest

    cipher = rt.secrets.cipher
    with rt.engine.connect() as conn:
        app = conn.execute(sa.select(applications).where(applications.c.id == app_id)).mappings().one()
        decision = conn.execute(sa.select(decisions).where(decisions.c.application_id == app_id)).mappings().one()
        basis = (
            conn.execute(sa.select(decision_bases).where(decision_bases.c.decision_id == decision["id"]))
            .mappings()
            .one()
        )
        credential = conn.execute(sa.select(credentials).where(credentials.c.application_id == app_id)).mappings().one()
        entries = (
            conn.execute(
                sa.select(audit_log, audit_pending.c.seq.label("pending"))
                .outerjoin(audit_pending, audit_pending.c.seq == audit_log.c.seq)
                .where(audit_log.c.object_id.in_([app_id, credential["id"]]))
                .order_by(audit_log.c.seq)
            )
            .mappings()
            .all()
        )
        messages = (
            conn.execute(
                sa.select(outbox)
                .where(outbox.c.aggregate_id.in_([app_id, credential["permit_no"]]))
                .order_by(outbox.c.channel, outbox.c.aggregate_seq)
            )
            .mappings()
            .all()
        )
    with rt.uow(readonly=True) as uow:
        document = uow.applications.get(app_id).document
    subject = rt.credential_types[app["schema"]].subject(document)
    records = json.loads(cipher.decrypt(basis["records_enc"], _aad(decision["id"])))
    assert basis["input_digest"] == digest(document) and basis["records_digest"] == digest(records)
    header, claims = (
        json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        for part in credential["token"].split(".")[:2]
    )
    assert claims == credential["claims"] and claims["status"]["status_list"]["idx"] == credential["status_idx"]
    names = {
        app_id: "<app>",
        decision["id"]: "<decision>",
        credential["id"]: "<credential>",
        credential["permit_no"]: "<permit>",
        reviewer_id: "<reviewer>",
        subject["id_number"]: "<id_number>",
        app["subject_index"]: "<subject_index>",
        app["subject_id_masked"]: "<id_masked>",
        app["reference"]: "<reference>",
    }
    random = {"token", "document_enc", "records_enc", "input_digest", "records_digest", "status_idx", "idx", "seq"}
    random |= {"pending", "id", "_secret", "ZZBS", "application_ref"}

    def plain(value, key=None):
        if key in random:
            return f"<{key}:{type(value).__name__}>"
        if isinstance(value, dict):
            return {k: plain(v, k) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, str):
            for name in sorted(names, key=len, reverse=True):
                value = value.replace(name, names[name])
        return value

    return plain(
        {
            # the version only has to have moved on (the single path flushes twice: a stale
            # reader is refused either way)
            "application": {**app, "document_enc": None, "version": app["version"] > 1},
            "decision": dict(decision),
            "basis": {**basis, "records": records},
            "credential": {**credential, "header": header},
            "audit": [dict(e) for e in entries],
            "outbox": [{**m, "secrets": reveal_secrets(cipher, m["id"], m["payload"])} for m in messages],
            "pending_entries": sum(e["pending"] is not None for e in entries),
        }
    )


def test_a_batch_approval_writes_exactly_what_a_single_decision_writes(runtime):
    """Row for row and column for column: the decision, its basis, the credential (token
    claims included), the application's new state, the audit entries and the outbox rows."""
    from govcred.core.services.decisions import decide
    from tests.core.workflow_helpers import officer

    rt = runtime
    (alone,) = rule_clean_applications(rt, 1, first=400)
    single = officer(rt, "reviewer", "one-at-a-time")
    decide(rt.collaborators, alone, approve=True, principal=single)
    (batched,) = rule_clean_applications(rt, 1, first=401)
    principal, seed = _reviewer(rt)
    report = approve_batch(rt.collaborators, principal, totp_code=totp_code(seed, rt))
    assert [a["application"] for a in report.approved] == [batched]
    expected = _footprint(rt, alone, single.id)
    assert expected["audit"] and expected["outbox"] and expected["pending_entries"] == len(expected["audit"])
    got = _footprint(rt, batched, principal.id)
    for part in expected:
        assert got[part] == expected[part], part


def test_the_held_update_refuses_an_application_changed_since_it_was_read(runtime):
    """The decided applications are written with one executemany ``WHERE id AND version``: a
    row another writer changed meanwhile is not matched, and the whole write is refused as the
    ORM's own version check refuses it (StaleDataError: a Conflict for decide and the batch)."""
    from sqlalchemy.orm.exc import StaleDataError

    from govcred.core import models
    from govcred.core.orm import applications

    rt = runtime
    first, second = rule_clean_applications(rt, 2, first=500)
    with rt.uow() as uow:
        apps = uow.applications.by_ids([first, second], for_update=True)
        uow.applications.hold()
        for app in apps.values():
            app.decide(True, rt.clock.now())
            uow.applications.decided(app)
        # what another transaction would have committed in between (no autoflush: nothing of
        # the decisions is written before release)
        with uow.session.no_autoflush:
            uow.session.execute(
                sa.update(applications).where(applications.c.id == second).values(version=applications.c.version + 1)
            )
        with pytest.raises(StaleDataError):
            uow.applications.release()
    assert _count(rt, applications, applications.c.state == models.APPROVED) == 0
