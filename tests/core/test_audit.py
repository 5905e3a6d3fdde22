"""The audit log's format as an outside auditor recomputes it, appends that lock no shared row,
the checkpointer and its witnesses (security checklist W-12). The tampering cases run through
`govcred audit verify` in tests/core/cli/test_audit_cli.py."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import threading
import time

import pytest
import sqlalchemy as sa

from govcred.core.audit_checkpoints import BackgroundCheckpointer
from govcred.core.audit_verify import verify_audit
from govcred.core.orm import audit_checkpoints, audit_log, audit_pending, audit_tree
from govcred.core.witnesses import FileWitness, HttpWitness
from govcred.testing import make_runtime, make_settings
from tests.core.witness_server import WitnessServer


def _append(rt, n: int = 1, **kw) -> list[int]:
    seqs = []
    with rt.uow() as uow:
        for i in range(n):
            seqs.append(
                uow.audit.append(
                    actor=kw.get("actor", "t"), role="admin", action="x", object_type="t", object_id=str(i)
                )
            )
        uow.commit()
    return seqs


def _verify(rt):
    return verify_audit(rt.uow, rt.settings, rt.clock, rt.audit_witnesses, rt.secrets.audit_key)


def test_a_leaf_is_sha256_of_0x00_and_the_canonical_entry(runtime):
    """leaf = SHA-256(0x00 || JSON with sorted keys, no spaces, UTF-8 text as is, the time in UTC
    with microseconds). Written out here by hand: a change of the format (which would orphan every
    checkpoint already published) fails."""
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
    runtime.checkpointer.checkpoint()
    with runtime.engine.connect() as conn:
        leaf = conn.execute(sa.select(audit_tree.c.leaf_hash).where(audit_tree.c.seq == seq)).scalar_one()
        row = conn.execute(sa.select(audit_log).where(audit_log.c.seq == seq)).mappings().one()
    canonical = (
        '{"action":"credential.revoked","actor":"r1","at":"2026-11-30T02:00:01.500000+00:00",'
        '"details":{"n":2,"reason":"吊销"},"object_id":"c1","object_type":"credential","outcome":"success",'
        f'"request_id":null,"role":"reviewer","seq":{seq}}}'
    )
    assert leaf == hashlib.sha256(b"\x00" + canonical.encode()).hexdigest()
    assert (row["outcome"], row["request_id"], row["details"]) == ("success", None, {"reason": "吊销", "n": 2})


def test_an_append_queues_the_entry_and_a_checkpoint_puts_it_in_the_tree(runtime):
    seqs = _append(runtime, 3)
    with runtime.engine.connect() as conn:
        queued = list(conn.execute(sa.select(audit_pending.c.seq).order_by(audit_pending.c.seq)).scalars())
    assert queued[-3:] == seqs
    published = runtime.checkpointer.checkpoint()
    with runtime.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_pending)).scalar_one() == 0
        tree = list(conn.execute(sa.select(audit_tree.c.seq).order_by(audit_tree.c.idx)).scalars())
        own = conn.execute(sa.select(audit_checkpoints.c.tree_size, audit_checkpoints.c.note)).all()
    assert tree[-3:] == seqs and published.checkpoint.tree_size == len(tree)
    assert (published.checkpoint.tree_size, published.note) in [tuple(r) for r in own]


def test_the_checkpoint_note_is_a_signed_c2sp_checkpoint(runtime):
    published = runtime.checkpointer.checkpoint()
    body, signature = published.note.split("\n\n")
    origin, size, root_b64, time_line = body.split("\n")
    assert origin.startswith("qt.example.gov.cn/govcred-audit/")
    assert int(size) == published.checkpoint.tree_size
    assert base64.b64decode(root_b64) == published.checkpoint.root_hash
    assert time_line == "time 2026-11-30T02:00:00Z"
    name, blob = signature.strip().removeprefix("\u2014 ").rsplit(" ", 1)
    raw = base64.b64decode(blob)
    key = runtime.checkpointer.key
    assert name == origin and raw[:4] == key.key_hash(origin)
    key.public.verify(raw[4:], (body + "\n").encode())  # raises if the signature is wrong
    assert (runtime.settings.data_dir / "secrets" / "audit-checkpoint.ed25519").stat().st_mode & 0o777 == 0o600


def test_appends_in_concurrent_transactions_do_not_wait_for_each_other(runtime):
    """The old chain locked one head row in every write transaction. Now a transaction that
    appended and has not committed does not hold up another's append and commit (PostgreSQL:
    SQLite has one writer at a time whatever the schema)."""
    if runtime.engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises write transactions (BEGIN IMMEDIATE)")
    with runtime.uow() as first:
        first.audit.append(actor="a", role="admin", action="x", object_type="t", object_id="1")
        first.flush()
        done = threading.Event()

        def second():
            with runtime.uow() as uow:
                uow.session.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
                uow.audit.append(actor="b", role="admin", action="x", object_type="t", object_id="2")
                uow.commit()
            done.set()

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(30)
        assert done.is_set(), "the second append waited for the first transaction"
        first.commit()
    runtime.checkpointer.checkpoint()
    assert _verify(runtime).ok


def test_many_writers_and_two_checkpointers_at_once_make_one_consistent_tree(runtime):
    errors = []

    def write():
        try:
            for _ in range(10):
                _append(runtime, 2)
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    def checkpoint():
        try:
            for _ in range(5):
                runtime.checkpointer.checkpoint()
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(4)] + [
        threading.Thread(target=checkpoint) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    runtime.checkpointer.checkpoint()
    report = _verify(runtime)
    assert report.ok, report.problems
    assert report.pending == 0 and report.tree_size == report.entries >= 80


def test_a_long_log_verifies_across_batches(runtime):
    _append(runtime, 7)
    runtime.checkpointer.checkpoint()
    _append(runtime, 2)
    runtime.checkpointer.checkpoint()
    from govcred.core.audit_verify import verify_log
    from govcred.core.checkpoint_note import load_key_or_none

    with runtime.uow(readonly=True) as uow:
        for batch in (1, 2, 3, 5000):
            report = verify_log(
                uow.session,
                key=load_key_or_none(runtime.settings.data_dir),
                mac_key=runtime.secrets.audit_key,
                witnesses=runtime.audit_witnesses,
                issuer=runtime.settings.issuer,
                now=runtime.clock.now(),
                grace=dt.timedelta(seconds=120),
                batch=batch,
            )
            assert (report.ok, report.problems, report.pending) == (True, [], 0)


def test_the_background_checkpointer_checkpoints_every_n_entries(runtime):
    runtime.checkpointer.checkpoint()
    settings = runtime.settings.with_overrides(audit_checkpoint_entries=3, audit_checkpoint_seconds=3600)
    witness = FileWitness(settings.witness_dir)
    origin = runtime.checkpointer.checkpoint().checkpoint.origin
    before = len(witness.checkpoints(origin))
    thread = BackgroundCheckpointer(runtime.checkpointer, settings, poll_seconds=0.05).start()
    try:
        _append(runtime, 2)
        time.sleep(1)  # twenty polls: two entries are fewer than three, nothing is published
        assert len(witness.checkpoints(origin)) == before
        _append(runtime, 1)
        for _ in range(400):
            if len(witness.checkpoints(origin)) > before:
                break
            time.sleep(0.05)
    finally:
        thread.stop()
    assert len(witness.checkpoints(origin)) == before + 1
    assert runtime.checkpointer.pending() == 0


def test_the_http_witness_receives_every_checkpoint_and_answers_the_latest(tmp_path, database_url, clock):
    with WitnessServer() as server:
        settings = make_settings(tmp_path / "var", database_url, audit_witness_urls=(server.url,))
        rt = make_runtime(settings, clock)
        try:
            rt.keystore.ensure_key()
            first = rt.checkpointer.checkpoint()
            _append(rt, 2)
            second = rt.checkpointer.checkpoint()
            assert (first.witness_errors, second.witness_errors) == ([], [])
            origin = second.checkpoint.origin
            assert server.notes[origin] == [first.note, second.note]
            assert HttpWitness(server.url).checkpoints(origin) == [second.note]
            report = _verify(rt)
            assert report.ok, report.problems
            assert {w["name"]: w["checkpoints"] for w in report.witnesses} == {
                f"file:{settings.witness_dir}": 2,
                f"http:{server.url}": 1,
            }
            server.refusing = True
            _append(rt, 1)
            third = rt.checkpointer.checkpoint()
            assert len(third.witness_errors) == 1 and "HTTP 503" in third.witness_errors[0]
            assert server.notes[origin] == [first.note, second.note]  # the file witness has the third
        finally:
            rt.close()


def test_a_witness_that_lost_the_newest_checkpoints_is_outvoted_by_the_other(tmp_path, database_url, clock):
    """The file witness rolled back with the database (both restored from one old copy): the
    HTTP witness still holds the newest checkpoint, and the copy is reported as an older one."""
    with WitnessServer() as server:
        settings = make_settings(tmp_path / "var", database_url, audit_witness_urls=(server.url,))
        rt = make_runtime(settings, clock)
        try:
            rt.keystore.ensure_key()
            rt.checkpointer.checkpoint()
            witness_file = next(settings.witness_dir.iterdir())
            old_witness = witness_file.read_bytes()
            with rt.engine.connect() as conn:
                size = conn.execute(sa.select(sa.func.count()).select_from(audit_tree)).scalar_one()
            _append(rt, 3)
            rt.checkpointer.checkpoint()
            _rewind_to(rt, size)
            witness_file.write_bytes(old_witness)
            report = _verify(rt)
            assert [(p["problem"], p["position"]) for p in report.problems] == [("rolled_back", size + 1)]
        finally:
            rt.close()


def _rewind_to(rt, size: int) -> None:
    """What restoring a copy taken at tree size ``size`` leaves (the newer rows gone)."""
    from tests.core.audit_tamper import drop_append_only

    drop_append_only(rt.engine)
    with rt.engine.begin() as conn:
        seqs = list(conn.execute(sa.select(audit_tree.c.seq).where(audit_tree.c.idx >= size)).scalars())
        conn.execute(sa.delete(audit_tree).where(audit_tree.c.idx >= size))
        conn.execute(sa.delete(audit_log).where(audit_log.c.seq.in_(seqs)))
        conn.execute(sa.delete(audit_checkpoints).where(audit_checkpoints.c.tree_size > size))


def test_the_default_witness_keeps_reading_the_checkpoints_of_the_shared_directory(
    tmp_path, database_url, clock, monkeypatch
):
    """Before each data directory got its own witness directory, the default one was shared:
    the checkpoints written there still count, and new ones go to the data directory's own."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    settings = make_settings(tmp_path / "var", database_url, audit_witness_dir="")
    rt = make_runtime(settings, clock)
    try:
        rt.keystore.ensure_key()
        first = rt.checkpointer.checkpoint()
        (written,) = settings.witness_dir.iterdir()
        written.rename(settings.shared_witness_dir / written.name)  # where the old release wrote it
        _append(rt, 2)
        second = rt.checkpointer.checkpoint()
        (own,) = settings.witness_dir.iterdir()
        assert FileWitness(settings.witness_dir).checkpoints(second.checkpoint.origin) == [second.note]
        report = _verify(rt)
        assert report.ok, report.problems
        assert {w["name"]: w["checkpoints"] for w in report.witnesses} == {f"file:{settings.witness_dir}": 2}
        assert rt.audit_witnesses[0].checkpoints(first.checkpoint.origin) == [first.note, second.note]
    finally:
        rt.close()
