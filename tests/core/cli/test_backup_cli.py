"""`govcred db backup | restore | check`: a backup of a running SQLite service under writes
restored into a fresh directory has every committed application, credential and audit entry
and passes `db check`; once the original's log moves on, the copy is reported as an older one.
PostgreSQL goes through pg_dump / pg_restore with the same layout."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from govcred.core.cli import AppContext, build_cli
from govcred.core.db import make_engine
from govcred.testing import TEST_ENV

GOVCRED = str(Path(sys.executable).parent / "govcred")
WRITER = textwrap.dedent("""
    import sys
    from govcred.core.clock import Clock
    from govcred.core.config import load_settings
    from govcred.testing import make_runtime
    from tests.core.permits import issue_permit

    rt = make_runtime(load_settings(sys.argv[1]), Clock())
    while True:
        credential = issue_permit(rt, owner_phone=None)
        with rt.uow() as uow:
            uow.audit.append(actor="backup-test", role="admin", action="test.written", object_type="credential",
                             object_id=credential.id)
            uow.commit()
        print(credential.application_id, credential.id, flush=True)
""")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVCRED_")}
    return {
        **env,
        **TEST_ENV,
        "GOVCRED_AUDIT_WITNESS_DIR": str(tmp_path / "audit-witness"),
        "PYTHONPATH": os.getcwd(),
    }


def _govcred(env, data: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [GOVCRED, "--data-dir", str(data), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rows(path: Path, sql: str) -> set:
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            return set(conn.execute(sa.text(sql)).scalars())
    finally:
        engine.dispose()


def test_a_backup_of_a_running_service_restores_into_a_fresh_directory(tmp_path):
    env = _env(tmp_path)
    data, fresh, dest = tmp_path / "var", tmp_path / "fresh", tmp_path / "backup"
    _govcred(env, data, "init")
    # the server's checkpointer stays out of the way until the end (the test writes one itself)
    (data / "govcred.toml").write_text("audit_checkpoint_seconds = 3600\naudit_checkpoint_entries = 100000\n")
    (data / "uploads" / "proof-1.bin").write_bytes(b"an upload")
    port = _free_port()
    server = subprocess.Popen(
        [GOVCRED, "--data-dir", str(data), "serve", "--dev", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(data)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        committed = [writer.stdout.readline().split() for _ in range(15)]
        assert all(len(c) == 2 for c in committed), writer.stderr.read()
        done = _govcred(env, data, "db", "backup", str(dest))  # the writer goes on meanwhile
        assert "已备份 (backed up) sqlite" in done.stdout
        committed += [writer.stdout.readline().split() for _ in range(3)]  # after the backup began: may be missing
    finally:
        for child in (writer, server):
            child.send_signal(signal.SIGTERM)
            child.wait(30)
    before_backup = committed[:15]

    restored = _govcred(env, fresh, "db", "restore", str(dest))
    assert "已恢复 (restored)" in restored.stdout
    db = fresh / "govcred.sqlite3"
    assert {a for a, _ in before_backup} <= _rows(db, "SELECT id FROM applications")
    assert {c for _, c in before_backup} <= _rows(db, "SELECT id FROM credentials")
    audited = _rows(db, "SELECT object_id FROM audit_log WHERE action = 'test.written'")
    assert {c for _, c in before_backup} <= audited
    assert (fresh / "uploads" / "proof-1.bin").read_bytes() == b"an upload"
    assert (fresh / "secrets" / "audit-checkpoint.ed25519").stat().st_mode & 0o777 == 0o600
    # every audit entry the original had when the backup was taken
    original_entries = _rows(data / "govcred.sqlite3", "SELECT seq FROM audit_log")
    restored_entries = _rows(db, "SELECT seq FROM audit_log")
    manifest = json.loads((dest / "manifest.json").read_text())
    assert restored_entries <= original_entries and len(restored_entries) == manifest["audit_entries"]

    check = _govcred(env, fresh, "db", "check", "--json")
    assert [(c["check"], c["ok"]) for c in json.loads(check.stdout)["checks"]] == [
        ("integrity", True),
        ("migrations", True),
        ("audit", True),
    ]
    assert _govcred(env, fresh, "audit", "verify").returncode == 0

    # The original moves on and checkpoints what came after the copy: the copy is now older.
    _govcred(env, data, "audit", "checkpoint")
    verify = _govcred(env, fresh, "audit", "verify", "--json", check=False)
    assert verify.returncode == 1
    [problem] = json.loads(verify.stdout)["problems"]
    tree_size = json.loads(verify.stdout)["tree_size"]
    assert (problem["problem"], problem["position"]) == ("rolled_back", tree_size + 1)
    assert _govcred(env, fresh, "db", "check", check=False).returncode == 1


def _cli(data: Path, env_url: str | None, monkeypatch, tmp_path):
    monkeypatch.setenv("GOVCRED_AUDIT_WITNESS_DIR", str(tmp_path / "audit-witness"))
    for k, v in TEST_ENV.items():
        monkeypatch.setenv(k, v)
    if env_url:
        monkeypatch.setenv("GOVCRED_DATABASE_URL", env_url)
    else:
        monkeypatch.delenv("GOVCRED_DATABASE_URL", raising=False)
    return CliRunner().invoke


def test_restore_refuses_a_directory_that_is_not_empty(tmp_path, monkeypatch):
    invoke = _cli(tmp_path / "var", None, monkeypatch, tmp_path)
    cli = build_cli()
    data, other = tmp_path / "var", tmp_path / "other"
    assert invoke(cli, ["--data-dir", str(data), "init"], obj=AppContext(str(data))).exit_code == 0
    backup = invoke(cli, ["--data-dir", str(data), "db", "backup", str(tmp_path / "b")], obj=AppContext(str(data)))
    assert backup.exit_code == 0, backup.output
    other.mkdir()
    (other / "keep.txt").write_text("x")
    refused = invoke(cli, ["--data-dir", str(other), "db", "restore", str(tmp_path / "b")], obj=AppContext(str(other)))
    assert refused.exit_code != 0
    assert f"数据目录 (data directory) {other} 不是空目录 (is not an empty directory)" in str(refused.exception)
    assert sorted(p.name for p in other.iterdir()) == ["keep.txt"]
    again = invoke(cli, ["--data-dir", str(data), "db", "backup", str(tmp_path / "b")], obj=AppContext(str(data)))
    assert "不是空目录" in str(again.exception)
    (tmp_path / "b" / "files" / "uploads").mkdir(exist_ok=True)
    (tmp_path / "b" / "govcred.sqlite3").write_bytes(b"damaged")
    damaged = invoke(
        cli,
        ["--data-dir", str(tmp_path / "new"), "db", "restore", str(tmp_path / "b")],
        obj=AppContext(str(tmp_path / "new")),
    )
    assert "备份文件缺失或损坏 (missing or damaged in the backup): govcred.sqlite3" in str(damaged.exception)


@pytest.mark.postgres
def test_postgres_backup_and_restore_through_pg_dump(tmp_path, monkeypatch, postgres, pg_template):
    from tests.core.permits import issue_permit

    with postgres.throwaway(template=pg_template) as source_url, postgres.throwaway() as target_url:
        invoke = _cli(tmp_path / "var", source_url, monkeypatch, tmp_path)
        cli = build_cli()
        data = tmp_path / "var"
        assert invoke(cli, ["--data-dir", str(data), "init"], obj=AppContext(str(data))).exit_code == 0
        context = AppContext(str(data))
        issue_permit(context.runtime, owner_phone=None)
        context.runtime.close()
        backup = invoke(cli, ["--data-dir", str(data), "db", "backup", str(tmp_path / "b")], obj=AppContext(str(data)))
        assert backup.exit_code == 0, backup.output
        assert (tmp_path / "b" / "database.dump").exists()

        monkeypatch.setenv("GOVCRED_DATABASE_URL", target_url)
        fresh = tmp_path / "fresh"
        restored = invoke(
            cli, ["--data-dir", str(fresh), "db", "restore", str(tmp_path / "b")], obj=AppContext(str(fresh))
        )
        assert restored.exit_code == 0, (restored.output, restored.exception)
        check = invoke(cli, ["--data-dir", str(fresh), "db", "check"], obj=AppContext(str(fresh)))
        assert check.exit_code == 0, check.output
        counts = []
        for url in (source_url, target_url):
            engine = make_engine(url)
            with engine.connect() as conn:
                counts.append(
                    [
                        conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                        for t in ("applications", "credentials", "audit_log")
                    ]
                )
            engine.dispose()
        assert counts[0] == counts[1] and counts[0][1] == 1
        again = invoke(
            cli,
            ["--data-dir", str(tmp_path / "third"), "db", "restore", str(tmp_path / "b")],
            obj=AppContext(str(tmp_path / "third")),
        )
        assert "目标数据库不是空的" in str(again.exception)


def test_the_verifiers_database_is_backed_up_whole_without_its_wal_and_lock(tmp_path, monkeypatch):
    """The verifier's SQLite database in the data directory (its institutions' API keys, the
    verification log) is taken like the main one, what is still in its WAL included, while the
    verifier keeps it open; its -wal, -shm and lock files were copied as plain files."""
    invoke = _cli(tmp_path / "var", None, monkeypatch, tmp_path)
    cli = build_cli()
    data = tmp_path / "var"
    assert invoke(cli, ["--data-dir", str(data), "init"], obj=AppContext(str(data))).exit_code == 0
    added = invoke(
        cli, ["--data-dir", str(data), "verifier-client", "add", "青田县实验小学"], obj=AppContext(str(data))
    )
    assert added.exit_code == 0, added.output
    verifier_db = data / "verifier" / "verifier.sqlite3"
    running = sqlite3.connect(verifier_db)  # the verifier service, holding its database open
    try:
        running.execute("PRAGMA wal_autocheckpoint = 0")
        running.execute("UPDATE verifier_clients SET rate_per_minute = 123")  # only in the WAL
        running.commit()
        assert (data / "verifier" / "verifier.sqlite3-wal").stat().st_size > 0
        backup = invoke(cli, ["--data-dir", str(data), "db", "backup", str(tmp_path / "b")], obj=AppContext(str(data)))
        assert backup.exit_code == 0, backup.output
    finally:
        running.close()
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text(encoding="utf-8"))
    verifier_files = sorted(rel for rel in manifest["files"] if "verifier/" in rel)
    assert verifier_files == ["files/verifier/verifier.sqlite3"]
    copy = sqlite3.connect(tmp_path / "b" / "files" / "verifier" / "verifier.sqlite3")
    try:
        assert copy.execute("SELECT name, rate_per_minute FROM verifier_clients").fetchall() == [
            ("青田县实验小学", 123)
        ]
    finally:
        copy.close()
    fresh = tmp_path / "fresh"
    restored = invoke(cli, ["--data-dir", str(fresh), "db", "restore", str(tmp_path / "b")], obj=AppContext(str(fresh)))
    assert restored.exit_code == 0, restored.output
    assert sorted(p.name for p in (fresh / "verifier").iterdir()) == ["verifier.sqlite3"]


def test_a_restore_into_another_path_names_the_witness_directory_to_set(tmp_path, monkeypatch):
    """With the default file witness (one directory per data directory), a copy restored into
    another path finds none of the log's checkpoints: `db check` failed with missing_checkpoint
    and `audit verify` said 已被篡改 (log BROKEN), while `db restore` only said to run db check.
    It now names the original's witness directory, and with it set the check passes."""
    invoke = _cli(tmp_path / "var", None, monkeypatch, tmp_path)
    monkeypatch.delenv("GOVCRED_AUDIT_WITNESS_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    cli = build_cli()
    data, fresh = tmp_path / "var", tmp_path / "fresh"
    assert invoke(cli, ["--data-dir", str(data), "init"], obj=AppContext(str(data))).exit_code == 0
    original_witness = AppContext(str(data)).settings.witness_dir.resolve()
    backup = invoke(cli, ["--data-dir", str(data), "db", "backup", str(tmp_path / "b")], obj=AppContext(str(data)))
    assert backup.exit_code == 0, backup.output
    restored = invoke(cli, ["--data-dir", str(fresh), "db", "restore", str(tmp_path / "b")], obj=AppContext(str(fresh)))
    assert restored.exit_code == 0, restored.output
    assert f"请设置 GOVCRED_AUDIT_WITNESS_DIR={original_witness} 后运行 govcred db check" in restored.output
    unset = invoke(cli, ["--data-dir", str(fresh), "db", "check"], obj=AppContext(str(fresh)))
    assert unset.exit_code == 1 and "missing_checkpoint" in unset.output
    monkeypatch.setenv("GOVCRED_AUDIT_WITNESS_DIR", str(original_witness))
    checked = invoke(cli, ["--data-dir", str(fresh), "db", "check"], obj=AppContext(str(fresh)))
    assert checked.exit_code == 0, checked.output


def test_a_restore_into_the_same_witness_says_only_to_run_db_check(tmp_path, monkeypatch):
    invoke = _cli(tmp_path / "var", None, monkeypatch, tmp_path)  # one configured witness for both
    cli = build_cli()
    data, fresh = tmp_path / "var", tmp_path / "fresh"
    assert invoke(cli, ["--data-dir", str(data), "init"], obj=AppContext(str(data))).exit_code == 0
    assert (
        invoke(cli, ["--data-dir", str(data), "db", "backup", str(tmp_path / "b")], obj=AppContext(str(data))).exit_code
        == 0
    )
    restored = invoke(cli, ["--data-dir", str(fresh), "db", "restore", str(tmp_path / "b")], obj=AppContext(str(fresh)))
    assert restored.exit_code == 0, restored.output
    assert "GOVCRED_AUDIT_WITNESS_DIR" not in restored.output and "请运行 govcred db check" in restored.output
