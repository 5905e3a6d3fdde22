"""Through the real outbox worker: one event triggered three times reaches the gateway once (R-12)."""

from __future__ import annotations

import sqlalchemy as sa

from govcred.core.orm import outbox as outbox_table
from govcred.core.worker import run_worker
from govcred.plugins.sms_gateway.tables import sms_sends
from govcred.testing import make_runtime, make_settings
from tests.plugins.delivery_helpers import PHONE, make_application, outbox_rows
from tests.plugins.gateway_stub import GatewayStub, Reply


def _gateway(stub) -> dict:
    return {"sms_gateway": {"backend": "http", "url": stub.url}}


def test_the_same_event_three_times_is_one_sms_at_the_gateway(data_dir, sqlite_url, clock):
    with GatewayStub(lambda r: Reply(200, {"id": "gw-1"})) as stub:
        rt = make_runtime(make_settings(data_dir, sqlite_url, plugins=_gateway(stub)), clock)
        try:
            application = make_application()
            for _ in range(3):
                with rt.uow() as uow:
                    rt.notifier.accepted(uow.outbox, application)
                    uow.commit()
            stats = run_worker(rt.relay, drain=True)
            [row] = outbox_rows(rt, "sms")
            with rt.engine.connect() as conn:
                ledger = conn.execute(sa.select(sms_sends)).mappings().all()
        finally:
            rt.close()
    assert stats.claimed == 1
    assert row["status"] == "delivered"
    assert row["result"]["segments"] == 1 and row["result"]["provider_id"] == "gw-1"
    [request] = stub.requests
    assert request.headers["Idempotency-Key"] == row["id"] and request.json()["phone"] == PHONE
    assert [r["message_id"] for r in ledger] == [row["id"]]
    assert PHONE not in str(dict(ledger[0]))


def test_a_gateway_outage_leaves_the_message_pending_for_a_retry(data_dir, sqlite_url, clock):
    replies = iter([Reply(503, {}, headers={"Retry-After": "600"}), Reply(200, {"id": "gw-2"})])
    with GatewayStub(lambda r: next(replies)) as stub:
        rt = make_runtime(make_settings(data_dir, sqlite_url, plugins=_gateway(stub)), clock)
        try:
            with rt.uow() as uow:
                rt.notifier.accepted(uow.outbox, make_application())
                uow.commit()
            run_worker(rt.relay, drain=True)
            [row] = outbox_rows(rt, "sms")
            assert row["status"] == "pending" and "503" in row["last_error"]
            assert (row["next_attempt_at"] - clock.now()).total_seconds() >= 600  # Retry-After honoured
            clock.advance(seconds=601)
            run_worker(rt.relay, drain=True)
            with rt.engine.connect() as conn:
                status = conn.execute(sa.select(outbox_table.c.status)).scalar_one()
        finally:
            rt.close()
    assert status == "delivered" and len(stub.requests) == 2
    assert stub.requests[0].headers["Idempotency-Key"] == stub.requests[1].headers["Idempotency-Key"]
