"""`govcred audit verify | checkpoint | prove` as an operator runs them, against a database that
someone with write access to its file has tampered with (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from govcred.core.cli import AppContext, build_cli
from govcred.core.crypto import load_secrets
from govcred.core.db import make_engine
from govcred.core.orm import audit_log
from govcred.testing import TEST_ENV
from tests.core.audit_tamper import drop_append_only, recompute_tree


@pytest.fixture
def run(tmp_path, monkeypatch, database_url):
    monkeypatch.setenv("GOVCRED_DATABASE_URL", database_url)
    monkeypatch.setenv("GOVCRED_AUDIT_WITNESS_DIR", str(tmp_path / "audit-witness"))
    for k, v in TEST_ENV.items():
        monkeypatch.setenv(k, v)
    data = tmp_path / "var"
    cli = build_cli()

    def invoke(*args):
        return CliRunner().invoke(cli, ["--data-dir", str(data), *args], obj=AppContext(str(data)))

    invoke.data = data
    invoke.witness = tmp_path / "audit-witness"
    invoke.engine = make_engine(database_url)
    yield invoke
    invoke.engine.dispose()


def _problems(run) -> tuple[int, list[tuple[str, int | None, int | None]]]:
    result = run("audit", "verify", "--json")
    report = json.loads(result.output)
    return result.exit_code, [(p["problem"], p["position"], p["seq"]) for p in report["problems"]]


def _seqs(run) -> list[int]:
    with run.engine.connect() as conn:
        return list(conn.execute(sa.select(audit_log.c.seq).order_by(audit_log.c.seq)).scalars())


def _more_entries(run, n: int = 3) -> None:
    for i in range(n):
        assert (
            run("officer", "add", f"extra{i}", "--role", "clerk", "--password", "a long enough password").exit_code == 0
        )


def test_an_intact_log_verifies(run):
    assert run("init").exit_code == 0
    _more_entries(run)  # each command's entries are checkpointed when it ends
    result = run("audit", "verify")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    n = len(_seqs(run))
    assert lines[0] == f"审计日志 {n} 条 (entries); 已入树 {n} (in the tree); 待签 0 (pending)"
    assert lines[1].startswith(f"最新检查点 (latest checkpoint): {n} 条, ")
    assert lines[-1] == "完整 (log intact)"


def test_a_deleted_tail_is_reported_as_truncated_at_its_first_position(run):
    run("init")
    _more_entries(run)
    seqs = _seqs(run)
    drop_append_only(run.engine)
    with run.engine.begin() as conn:
        conn.execute(sa.delete(audit_log).where(audit_log.c.seq >= seqs[-2]))
    code, problems = _problems(run)
    assert (code, problems) == (1, [("truncated", len(seqs) - 1, seqs[-2])])
    out = run("audit", "verify").output
    assert f"位置 {len(seqs) - 1} (seq {seqs[-2]}): 日志被截断 [truncated]" in out and "已被篡改 (log BROKEN)" in out


def test_a_tail_deleted_from_the_tree_as_well_is_still_truncated(run):
    """The tree rows and the database's own checkpoint copies go too: only the witness remembers."""
    run("init")
    _more_entries(run)
    seqs = _seqs(run)
    drop_append_only(run.engine)
    with run.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_tree WHERE seq >= :s"), {"s": seqs[-2]})
        conn.execute(sa.delete(audit_log).where(audit_log.c.seq >= seqs[-2]))
    code, problems = _problems(run)
    assert (code, problems) == (1, [("truncated", len(seqs) - 1, None)])


def test_an_edited_entry_is_reported_at_the_entry(run):
    run("init")
    seqs = _seqs(run)
    drop_append_only(run.engine)
    with run.engine.begin() as conn:
        conn.execute(sa.update(audit_log).where(audit_log.c.seq == seqs[1]).values(actor="mallory"))
    code, problems = _problems(run)
    assert code == 1 and problems[0] == ("modified", 2, seqs[1])


def test_a_rewritten_log_with_recomputed_hashes_is_reported_at_the_first_rewritten_entry(run):
    """The actor of one entry changed and every leaf hash recomputed so that the database agrees
    with itself: the leaf's MAC (the key is not in the database) names the entry."""
    run("init")
    _more_entries(run)
    seqs = _seqs(run)
    drop_append_only(run.engine)
    with run.engine.begin() as conn:
        conn.execute(sa.update(audit_log).where(audit_log.c.seq == seqs[3]).values(actor="mallory"))
    recompute_tree(run.engine)
    code, problems = _problems(run)
    assert (code, problems[0]) == (1, ("rewritten", 4, seqs[3]))


def test_a_rewrite_by_someone_holding_the_master_secret_is_caught_by_the_checkpoints(run):
    """With the MACs recomputed too, the signed roots still differ: the first checkpoint whose
    root the entries no longer give bounds the rewritten entry from above, the last one they do
    give from below."""
    run("init")
    first = len(_seqs(run))
    _more_entries(run, 3)
    seqs = _seqs(run)
    drop_append_only(run.engine)
    with run.engine.begin() as conn:
        conn.execute(sa.update(audit_log).where(audit_log.c.seq == seqs[first + 1]).values(actor="mallory"))
    from govcred.core.config import load_settings

    recompute_tree(run.engine, load_secrets(load_settings(run.data)).audit_key)
    code, problems = _problems(run)
    assert code == 1
    [(kind, position, seq)] = problems
    assert kind == "rewritten" and first < position <= first + 2 and seq is None


def test_an_older_copy_of_the_database_is_reported_as_rolled_back(run, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("copying the database file is the SQLite case; backup/restore covers both")
    run("init")
    db = database_url.removeprefix("sqlite:///")
    copy = run.data.parent / "old.sqlite3"
    with sqlite3.connect(db) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    size = len(_seqs(run))
    _more_entries(run)
    with sqlite3.connect(copy) as source, sqlite3.connect(db) as target:  # the old copy put back
        source.backup(target)
    code, problems = _problems(run)
    assert (code, problems) == (1, [("rolled_back", size + 1, None)])
    assert "数据库为旧副本 [rolled_back]" in run("audit", "verify").output


def test_a_deleted_witness_file_is_a_missing_checkpoint(run):
    run("init")
    shutil.rmtree(run.witness)
    assert _problems(run) == (1, [("missing_checkpoint", 1, None)])


def test_entries_left_without_a_checkpoint_too_long_are_reported(run):
    """No checkpointer ran after these entries (written straight into the database): once they
    are older than twice audit_checkpoint_seconds, verify says so."""
    import time_machine

    run("init")
    n = len(_seqs(run))
    from govcred.core.clock import Clock
    from govcred.core.config import load_settings
    from govcred.testing import make_runtime

    rt = make_runtime(load_settings(run.data), Clock())
    try:
        with rt.uow() as uow:
            seq = uow.audit.append(actor="t", role="admin", action="x", object_type="t", object_id="1")
            uow.commit()
    finally:
        rt.close()
    assert _problems(run) == (0, [])  # new: the checkpointer has time yet
    with time_machine.travel("2100-01-01", tick=False):
        assert _problems(run) == (1, [("missing_checkpoint", n + 1, seq)])


def test_checkpoint_writes_one_now(run):
    run("init")
    result = run("audit", "checkpoint")
    assert result.exit_code == 0, result.output
    n = len(_seqs(run))
    assert result.output.startswith(f"检查点 (checkpoint): {n} 条 (entries), root ")
    assert "已送达见证方 (stored by witnesses): 1/1" in result.output
    [witness_file] = run.witness.iterdir()
    assert len(witness_file.read_text().splitlines()) == 2  # init's and this one


def test_prove_prints_an_inclusion_proof_that_verifies(run):
    run("init")
    _more_entries(run, 4)
    seqs = _seqs(run)
    result = run("audit", "prove", str(seqs[2]))
    assert result.exit_code == 0, result.output
    proof = json.loads(result.output)
    assert (proof["seq"], proof["leaf_index"], proof["tree_size"]) == (seqs[2], 2, len(seqs))
    leaf = hashlib.sha256(b"\x00" + proof["entry"].encode()).digest()
    assert leaf.hex() == proof["leaf_hash"] and json.loads(proof["entry"])["seq"] == seqs[2]
    # RFC 9162 §2.1.3.2 by hand
    fn, sn, r = proof["leaf_index"], proof["tree_size"] - 1, leaf
    for p in map(bytes.fromhex, proof["inclusion_path"]):
        if fn % 2 == 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    assert sn == 0 and r.hex() == proof["root_hash"]
    assert proof["checkpoint"].split("\n")[1] == str(len(seqs))


def test_prove_names_an_unknown_entry(run):
    run("init")
    missing = run("audit", "prove", "999999")
    assert missing.exit_code != 0 and "no audit entry 999999" in str(missing.exception)
