"""Core's notifications become the right SMS outbox rows inside a real unit of work."""

from __future__ import annotations

import datetime as dt
import json

from govcred.core import Notification, NotificationKind
from govcred.core.models import BLOCKING, Decision, Finding
from govcred.core.reference import reference_of
from tests.plugins.delivery_helpers import PHONE, as_message, make_application, make_credential, outbox_rows

T = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)  # 11:00 Beijing


def _decision(application, approved: bool, codes=(), officer_reasons=(), at=T):
    findings = [Finding(c, BLOCKING, "不符合条件", "暂行条例第九条").as_dict() for c in codes]
    return Decision(
        application_id=application.id,
        approved=approved,
        findings=findings,
        officer_reasons=list(officer_reasons),
        reviewer_id="r1",
        decided_at=at,
    )


def test_accepted_queues_the_received_sms_once(runtime):
    application = make_application()
    for _ in range(3):  # the same event three times: one row
        with runtime.uow() as uow:
            runtime.notifier.accepted(uow.outbox, application)
            uow.commit()
    [row] = outbox_rows(runtime, "sms")
    assert row["event_type"] == "sms.received" and row["aggregate_type"] == "application"
    assert row["aggregate_id"] == application.id and row["dedupe_key"] == f"sms:{application.id}:received"
    ref = reference_of(application.id)  # the 办件编号 every page and the receipt print
    assert row["payload"]["template"] == "application_received"
    assert row["payload"]["params"] == {"ref": ref, "deadline": "2026年12月2日"}
    assert PHONE not in json.dumps(row["payload"])  # the phone travels only encrypted
    assert as_message(runtime, row).secrets == {"phone": PHONE}


def test_decisions_queue_approved_or_rejected_with_every_reason(runtime):
    approved_app, rejected_app = make_application(), make_application()
    with runtime.uow() as uow:
        runtime.notifier.decided(uow.outbox, approved_app, _decision(approved_app, True))
        runtime.notifier.decided(
            uow.outbox,
            rejected_app,
            _decision(rejected_app, False, ["LOCAL_HUKOU", "REGISTRATION_TOO_SHORT"], ["材料照片模糊"]),
        )
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
    with runtime.uow() as uow:
        for old, new, at in (
            ("valid", "suspended", T),
            ("suspended", "valid", T + dt.timedelta(days=3)),
            ("valid", "suspended", T + dt.timedelta(days=40)),
            ("suspended", "revoked", T + dt.timedelta(days=41)),
            ("revoked", "superseded", T + dt.timedelta(days=42)),
            ("valid", "replaced", T + dt.timedelta(days=43)),
            ("valid", "cancelled", T + dt.timedelta(days=44)),
        ):
            credential.status, credential.status_changed_at = new, at
            runtime.notifier.status_changed(uow.outbox, credential, application, old, new, "未签注")
        runtime.notifier.issued(uow.outbox, credential, application)
        uow.commit()
    rows = outbox_rows(runtime, "sms")
    assert [r["payload"]["template"] for r in rows] == ["permit_suspended", "permit_suspended", "permit_revoked"]
    assert [r["aggregate_seq"] for r in rows] == [1, 2, 3]
    assert rows[0]["payload"]["params"] == {"permit_no": "QT-2026-000123"}
    assert rows[0]["dedupe_key"] == f"sms:{application.id}:suspended:{credential.id}:{T.isoformat()}"
    assert len({r["dedupe_key"] for r in rows}) == 3


def test_night_events_are_delivered_from_eight_in_the_morning(runtime):
    application = make_application()
    late = dt.datetime(2026, 11, 30, 14, 30, tzinfo=dt.UTC)  # 22:30 Beijing
    with runtime.uow() as uow:
        runtime.notifier.decided(uow.outbox, application, _decision(application, True, at=late))
        uow.commit()
    [row] = outbox_rows(runtime, "sms")
    assert row["next_attempt_at"] == dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)  # 08:00 Beijing


def test_no_valid_phone_queues_nothing_and_does_not_fail_the_transaction(runtime):
    application = make_application(phone="0578-1234567")
    with runtime.uow() as uow:
        assert runtime.notifier.accepted(uow.outbox, application) is False
        uow.commit()
    assert outbox_rows(runtime, "sms") == []


def test_login_code_is_queued_without_the_phone_in_clear_and_delivered(runtime):
    with runtime.uow() as uow:
        for code_id, code in (("code-1", "042917"), ("code-2", "555111")):
            assert runtime.notifier.login_code(uow.outbox, PHONE, code, code_id=code_id, now=T)
        uow.commit()
    rows = outbox_rows(runtime, "sms")
    assert [(r["aggregate_type"], r["aggregate_id"], r["event_type"]) for r in rows] == [
        ("login_code", "code-1", "login.code"),
        ("login_code", "code-2", "login.code"),
    ]
    assert rows[0]["payload"]["template"] == "login_code" and rows[0]["dedupe_key"] is None
    assert all(PHONE not in json.dumps(r["payload"]) for r in rows)
    assert all(code not in json.dumps(r["payload"]) for r, code in zip(rows, ("042917", "555111"), strict=True))
    assert runtime.channels["sms"](as_message(runtime, rows[0]))["template"] == "login_code"


def test_a_delivered_login_code_leaves_the_outbox_row(runtime):
    from govcred.core.worker import run_worker

    with runtime.uow() as uow:
        runtime.notifier.login_code(uow.outbox, PHONE, "042917", code_id="code-1", now=T)
        uow.commit()
    run_worker(runtime.relay, drain=True)
    (row,) = outbox_rows(runtime, "sms")
    assert row["status"] == "delivered"
    assert row["payload"] == {"template": "login_code", "params": {}}  # neither the code nor the phone


def test_the_plugin_texts_what_the_notification_says_without_reading_the_document(runtime):
    """The recipient and the reference come from the notification: an application document
    of any shape (here none at all) does not matter to the SMS plugin."""
    notification = Notification(
        NotificationKind.APPROVED,
        phone="+86 139 1234 5678",
        occurred_at=T,
        application_id="app-1",
        application_ref="APP00001",
        application_kind="first_issue",
    )
    with runtime.uow() as uow:
        ids = runtime.pm.hook.govcred_notify(notification=notification, outbox=uow.outbox)
        uow.commit()
    [row] = outbox_rows(runtime, "sms")
    assert ids == [row["id"]]
    assert row["payload"] == {
        "template": "application_approved",
        "params": {"ref": "APP00001"},
        "_secret": row["payload"]["_secret"],
    }
    assert as_message(runtime, row).secrets == {"phone": "13912345678"}
