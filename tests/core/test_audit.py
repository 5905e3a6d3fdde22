"""The audit chain's format, as an outside auditor recomputes it, and its verification in
batches (security checklist W-12). The tampering cases run through `govcred audit verify` in
tests/core/cli/test_cli_admin.py."""

from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa

from govcred.core.audit import verify_chain
from govcred.core.orm import audit_log


def _last(rt):
    with rt.engine.connect() as conn:
        return conn.execute(sa.select(audit_log).order_by(audit_log.c.seq.desc()).limit(1)).mappings().first()


def test_entry_hash_is_sha256_of_prev_hash_bar_canonical_json(runtime):
    """hash = SHA-256(prev_hash "|" JSON with sorted keys, no spaces, UTF-8 text as is, the time in
    UTC with microseconds). Written out here by hand, so that any change of the format (which
    would orphan every chain already written) fails."""
    before = _last(runtime)
    runtime.clock.advance(seconds=1.5)
    with runtime.uow() as uow:
        seq = uow.audit.append(
            actor="r1",
            role="reviewer",
            action="credential.revoked",
            object_type="credential",
            object_id="c1",
            details={"reason": "吊销", "n": 2},
        )
        uow.commit()
    row = _last(runtime)
    assert seq == row["seq"] == before["seq"] + 1
    canonical = (
        '{"action":"credential.revoked","actor":"r1","at":"2026-11-30T02:00:01.500000+00:00",'
        '"details":{"n":2,"reason":"吊销"},"object_id":"c1","object_type":"credential","outcome":"success",'
        f'"request_id":null,"role":"reviewer","seq":{seq}}}'
    )
    assert row["prev_hash"] == before["hash"]
    assert row["hash"] == hashlib.sha256(f"{before['hash']}|{canonical}".encode()).hexdigest()
    assert (row["outcome"], row["request_id"], row["details"]) == ("success", None, {"reason": "吊销", "n": 2})


def test_first_entry_links_to_the_genesis_hash(sqlite_runtime):
    with sqlite_runtime.engine.connect() as conn:
        first = conn.execute(sa.select(audit_log).order_by(audit_log.c.seq).limit(1)).mappings().one()
    assert (first["seq"], first["prev_hash"]) == (1, "0" * 64)


def test_a_long_chain_verifies_across_batches(runtime):
    with runtime.uow() as uow:
        for n in range(7):
            runtime.clock.advance(seconds=1)
            uow.audit.append(
                actor="t",
                role="admin",
                action="x",
                object_type="t",
                object_id=str(n),
                outcome="failure",
                request_id=f"req-{n}",
            )
        uow.commit()
    with runtime.uow(readonly=True) as uow:
        total = uow.session.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one()
        for batch in (1, 2, 3, 5000):
            report = verify_chain(uow.session, batch=batch)
            assert (report.ok, report.entries, report.problems) == (True, total, [])
    assert total >= 8


def test_entries_record_the_clock_in_utc(runtime):
    runtime.clock.set(dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    with runtime.uow() as uow:
        uow.audit.append(actor="t", role="admin", action="x", object_type="t", object_id="1")
        uow.commit()
    with runtime.uow(readonly=True) as uow:
        assert verify_chain(uow.session).ok


def test_a_log_emptied_under_its_head_is_reported_as_cut_to_nothing(sqlite_runtime):
    with sqlite_runtime.engine.begin() as conn:
        head = conn.execute(sa.text("SELECT seq FROM audit_head")).scalar_one()
        conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        conn.execute(sa.delete(audit_log))
    with sqlite_runtime.uow(readonly=True) as uow:
        report = verify_chain(uow.session)
    assert (report.entries, report.problems) == (
        0,
        [{"seq": head, "problem": "truncated", "message": f"the chain head says seq {head} but the log ends at 0"}],
    )


def test_a_cut_hidden_by_winding_the_head_seq_back_is_still_seen(sqlite_runtime):
    """Someone deletes the last entry and sets the head's seq back by one: the head's hash still
    names the deleted entry."""
    with sqlite_runtime.engine.begin() as conn:
        head = conn.execute(sa.text("SELECT seq FROM audit_head")).scalar_one()
        conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        conn.execute(sa.delete(audit_log).where(audit_log.c.seq == head))
        conn.execute(sa.text("UPDATE audit_head SET seq = seq - 1"))
    with sqlite_runtime.uow(readonly=True) as uow:
        report = verify_chain(uow.session)
    assert report.problems == [
        {
            "seq": head - 1,
            "problem": "truncated",
            "message": f"the chain head says seq {head - 1} but the log ends at {head - 1}",
        }
    ]
