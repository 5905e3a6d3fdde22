"""The lifecycle hookimpls add the right outbox rows inside a real unit of work."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from govcred.core.exceptions import ValidationError
from govcred.core.models import BLOCKING, Decision, Finding
from govcred.plugins.sms_gateway import queue_login_code
from govcred.plugins.sms_gateway.channel import build_channel
from tests.plugins.delivery_helpers import PHONE, as_message, make_application, make_credential, outbox_rows

T = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.timezone.utc)  # 11:00 Beijing


def _decision(application, approved: bool, codes=(), officer_reasons=(), at=T):
    findings = [Finding(c, BLOCKING, "不符合条件", "暂行条例第九条").as_dict() for c in codes]
    return Decision(application_id=application.id, approved=approved, findings=findings,
                    officer_reasons=list(officer_reasons), reviewer_id="r1", decided_at=at)


def test_accepted_queues_the_received_sms_once(runtime):
    application = make_application()
    for _ in range(3):  # the same event three times: one row
        with runtime.uow() as uow:
            runtime.pm.hook.govcred_application_accepted(application=application, outbox=uow.outbox)
            uow.commit()
    [row] = outbox_rows(runtime, "sms")
    assert row["event_type"] == "sms.received" and row["aggregate_type"] == "application"
    assert row["aggregate_id"] == application.id and row["dedupe_key"] == f"sms:{application.id}:received"
    ref = application.id.replace("-", "")[:8].upper()
    assert row["payload"]["template"] == "application_received"
    assert row["payload"]["params"] == {"ref": ref, "deadline": "2026年12月2日"}
    assert PHONE not in json.dumps(row["payload"])  # the phone travels only encrypted
    assert as_message(runtime, row).secrets == {"phone": PHONE}


def test_decisions_queue_approved_or_rejected_with_every_reason(runtime):
    approved_app, rejected_app = make_application(), make_application()
    with runtime.uow() as uow:
        hook = runtime.pm.hook.govcred_application_decided
        hook(application=approved_app, decision=_decision(approved_app, True), outbox=uow.outbox)
        hook(application=rejected_app, decision=_decision(rejected_app, False, ["LOCAL_HUKOU", "REGISTRATION_TOO_SHORT"],
                                                          ["材料照片模糊"]), outbox=uow.outbox)
        uow.commit()
    rows = {r["aggregate_id"]: r for r in outbox_rows(runtime, "sms")}
    assert rows[approved_app.id]["payload"]["template"] == "application_approved"
    assert rows[approved_app.id]["dedupe_key"] == f"sms:{approved_app.id}:approved"
    rejected = rows[rejected_app.id]["payload"]
    assert rejected["template"] == "application_rejected"
    assert rejected["params"]["reasons"] == "本县户籍、登记不满半年、审核意见"
    assert "模糊" not in json.dumps(rejected, ensure_ascii=False)  # the officer's free text stays in the system


def test_status_changes_queue_suspended_and_revoked_only(runtime):
    application = make_application()
    credential = make_credential(application)
    hook = runtime.pm.hook.govcred_credential_status_changed
    with runtime.uow() as uow:
        for old, new, at in (("valid", "suspended", T), ("suspended", "valid", T + dt.timedelta(days=3)),
                             ("valid", "suspended", T + dt.timedelta(days=40)),
                             ("suspended", "revoked", T + dt.timedelta(days=41))):
            credential.status, credential.status_changed_at = new, at
            hook(credential=credential, application=application, old_status=old, new_status=new, reason="未签注",
                 outbox=uow.outbox)
        uow.commit()
    rows = outbox_rows(runtime, "sms")
    assert [r["payload"]["template"] for r in rows] == ["permit_suspended", "permit_suspended", "permit_revoked"]
    assert [r["aggregate_seq"] for r in rows] == [1, 2, 3]
    assert rows[0]["payload"]["params"] == {"permit_no": "QT-2026-000123"}
    assert len({r["dedupe_key"] for r in rows}) == 3


def test_night_events_are_delivered_from_eight_in_the_morning(runtime):
    application = make_application()
    late = dt.datetime(2026, 11, 30, 14, 30, tzinfo=dt.timezone.utc)  # 22:30 Beijing
    with runtime.uow() as uow:
        runtime.pm.hook.govcred_application_decided(application=application,
                                                    decision=_decision(application, True, at=late),
                                                    outbox=uow.outbox)
        uow.commit()
    [row] = outbox_rows(runtime, "sms")
    assert row["next_attempt_at"] == dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.timezone.utc)  # 08:00 Beijing


def test_no_valid_phone_queues_nothing_and_does_not_fail_the_transaction(runtime):
    application = make_application(phone="0578-1234567")
    with runtime.uow() as uow:
        runtime.pm.hook.govcred_application_accepted(application=application, outbox=uow.outbox)
        uow.commit()
    assert outbox_rows(runtime, "sms") == []


def test_login_code_is_queued_without_the_phone_in_clear_and_delivered(runtime):
    with runtime.uow() as uow:
        first = queue_login_code(uow.outbox, "+86 138 1234 1234", "042917")
        second = queue_login_code(uow.outbox, PHONE, "555111")
        uow.commit()
    rows = outbox_rows(runtime, "sms")
    assert [r["id"] for r in rows] == [first, second]
    assert {r["aggregate_type"] for r in rows} == {"login"} and rows[0]["aggregate_id"] != rows[1]["aggregate_id"]
    assert all(PHONE not in json.dumps(r["payload"]) and PHONE not in r["aggregate_id"] for r in rows)
    channel = build_channel(runtime.settings, engine=runtime.engine, clock=runtime.clock)
    assert channel(as_message(runtime, rows[0]))["template"] == "login_code"


def test_login_code_input_errors_are_named_together(runtime):
    with runtime.uow() as uow:
        with pytest.raises(ValidationError) as info:
            queue_login_code(uow.outbox, "12345", "12ab")
    assert {e.field for e in info.value.errors} == {"phone", "code"}
