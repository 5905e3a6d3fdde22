"""The push hookimpls add the right outbox rows inside a real unit of work, and the rows deliver."""

from __future__ import annotations

import datetime as dt
import json

from govcred.plugins.provincial_push.jsonl import read_records
from tests.plugins.delivery_helpers import ID_NUMBER, as_message, make_application, make_credential, outbox_rows

T = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)


def test_issue_and_status_changes_queue_records_in_permit_order(runtime):
    application = make_application()
    credential = make_credential(application)
    with runtime.uow() as uow:
        subject = runtime.credential_types.subject_of(application)
        for _ in range(2):
            runtime.pm.hook.govcred_credential_issued(
                credential=credential, application=application, subject=subject, outbox=uow.outbox
            )
        for old, new, at in (("valid", "suspended", T), ("suspended", "valid", T + dt.timedelta(days=2))):
            credential.status, credential.status_changed_at = new, at
            runtime.pm.hook.govcred_credential_status_changed(
                credential=credential,
                application=application,
                subject=subject,
                old_status=old,
                new_status=new,
                reason="未按期签注",
                outbox=uow.outbox,
            )
        uow.commit()
    rows = outbox_rows(runtime, "provincial_push")
    # the repeated issue is deduped; a reinstatement is pushed with the status it restores
    assert [r["event_type"] for r in rows] == ["push.issued", "push.suspended", "push.reinstated"]
    assert {(r["aggregate_type"], r["aggregate_id"]) for r in rows} == {("credential", "QT-2026-000123")}
    assert [r["aggregate_seq"] for r in rows] == [1, 2, 3]
    assert [r["payload"]["record"]["ZZZT"] for r in rows] == ["valid", "suspended", "valid"]
    assert all(ID_NUMBER not in json.dumps(r["payload"]) for r in rows)  # only in the encrypted secret
    assert all(r["payload"]["record"]["CZZT"] == "" for r in rows)  # so is the holder's name
    assert as_message(runtime, rows[0]).secrets == {"holder_id": ID_NUMBER, "holder_name": "张三明"}

    channel = runtime.channels["provincial_push"]
    for row in rows + rows:  # each delivered twice: the drop file still has one line per message
        channel(as_message(runtime, row))
    [path] = sorted((runtime.settings.data_dir / "push").glob("*.jsonl"))
    entries = read_records(path)
    assert [e["id"] for e in entries] == [r["id"] for r in rows]
    assert entries[0]["record"]["CZZTDM"] == ID_NUMBER and entries[1]["event"] == "suspended"
    assert entries[0]["record"]["CZZT"] == "张三明"  # back in the record the platform receives


def test_a_record_that_cannot_be_built_does_not_fail_the_issuance(runtime):
    application = make_application()
    credential = make_credential(application, permit_no="——")
    with runtime.uow() as uow:
        runtime.pm.hook.govcred_credential_issued(
            credential=credential,
            application=application,
            subject=runtime.credential_types.subject_of(application),
            outbox=uow.outbox,
        )
        uow.commit()
    [row] = outbox_rows(runtime, "provincial_push")
    assert "serial" in row["payload"]["error"] and "record" not in row["payload"]


def test_both_plugins_register_their_channels(runtime):
    assert {"sms", "provincial_push"} <= set(runtime.channels)


def test_the_worker_pushes_signed_records_to_the_platform(data_dir, sqlite_url, clock):
    import hashlib
    import hmac

    from govcred.core.worker import run_worker
    from govcred.testing import make_runtime, make_settings
    from tests.plugins.gateway_stub import GatewayStub, Reply

    secret = "platform-shared-secret-01"
    with GatewayStub(lambda r: Reply(200, {"ok": True})) as stub:
        rt = make_runtime(
            make_settings(
                data_dir,
                sqlite_url,
                plugins={"provincial_push": {"backend": "http", "url": stub.url, "secret": secret}},
            ),
            clock,
        )
        try:
            application = make_application()
            with rt.uow() as uow:
                rt.pm.hook.govcred_credential_issued(
                    credential=make_credential(application),
                    application=application,
                    subject=rt.credential_types.subject_of(application),
                    outbox=uow.outbox,
                )
                uow.commit()
            run_worker(rt.relay, drain=True)
            [row] = outbox_rows(rt, "provincial_push")
        finally:
            rt.close()
    assert row["status"] == "delivered"
    [request] = stub.requests
    assert (
        request.headers["X-Signature"]
        == "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    )
    body = request.json()
    assert body["id"] == row["id"] == request.headers["Idempotency-Key"]
    assert body["record"]["CZZTDM"] == ID_NUMBER and body["record"]["ZZZT"] == "valid"


def test_two_runtimes_in_one_process_push_with_their_own_configuration(tmp_path, sqlite_template, clock):
    """No module-level state: each runtime's push object keeps its own county and drop directory."""
    import shutil

    from govcred.testing import make_runtime, make_settings

    runtimes = []
    for county in ("331121", "331122"):
        data = tmp_path / county
        data.mkdir()
        shutil.copy(sqlite_template, data / "govcred.sqlite3")
        runtimes.append(
            make_runtime(
                make_settings(
                    data, f"sqlite:///{data / 'govcred.sqlite3'}", plugins={"provincial_push": {"county_code": county}}
                ),
                clock,
            )
        )
    try:
        for rt in runtimes:
            application = make_application()
            with rt.uow() as uow:
                rt.pm.hook.govcred_credential_issued(
                    credential=make_credential(application),
                    application=application,
                    subject=rt.credential_types.subject_of(application),
                    outbox=uow.outbox,
                )
                uow.commit()
            [row] = outbox_rows(rt, "provincial_push")
            rt.channels["provincial_push"](as_message(rt, row))
        pushed = [read_records(next((rt.settings.data_dir / "push").glob("*.jsonl"))) for rt in runtimes]
        assert [[e["record"]["GXSDBM"] for e in entries] for entries in pushed] == [["331121"], ["331122"]]
    finally:
        for rt in runtimes:
            rt.close()
