"""``govcred db backup | restore | check``: a consistent copy of a data directory, put back into
an empty one, and the checks that say a copy (or a live directory) is whole.

A backup is a directory: ``manifest.json``; the database -- ``govcred.sqlite3`` taken with
SQLite's online backup API (a consistent snapshot that includes what is still in the WAL,
while the service keeps writing), or ``database.dump`` from ``pg_dump --format=custom`` --; and
every other file of the data directory (``secrets/`` with the checkpoint key and development
secrets, ``uploads/``, ``calendar/``, ``push/``, ``govcred.toml``; the verifier's SQLite database
through the same online backup API), copied *after* the database snapshot so that every upload a
row of the snapshot names is there. Locks and run-time files are left out. A checkpoint is written first, so that the copy's audit log is witnessed up to the
moment of the copy; what the audit log gains afterwards makes a restored copy an older one,
which ``govcred audit verify`` reports (``rolled_back``).

Production secrets given in the environment (``GOVCRED_SECRET_KEY``, ``GOVCRED_KEY_PASSPHRASE``)
are not files and are not in the backup: keep them with it, apart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from govcred.core.exceptions import BackupError

FORMAT = "govcred-backup/1"
MANIFEST = "manifest.json"
SQLITE_FILE = "govcred.sqlite3"
PG_DUMP = "database.dump"
FILES = "files"
#: never copied: the database itself (taken through its API), locks, run-time state
SKIPPED = {SQLITE_FILE, f"{SQLITE_FILE}-wal", f"{SQLITE_FILE}-shm", "serve.lock", "locks", "run"}

PG_PROCEDURE = """\
pg_dump was not found. Back up PostgreSQL by hand, with the same layout:
  1. govcred audit checkpoint
  2. pg_dump --format=custom --file {dest}/database.dump "$GOVCRED_DATABASE_URL"
  3. copy the data directory (secrets/, uploads/, calendar/, push/, govcred.toml) into {dest}/files/
  4. keep GOVCRED_SECRET_KEY and GOVCRED_KEY_PASSPHRASE with the backup, apart from it
Restore: pg_restore --no-owner --dbname "$GOVCRED_DATABASE_URL" {dest}/database.dump into an empty
database, copy {dest}/files/ into an empty data directory, then govcred db upgrade."""


@dataclass
class Manifest:
    format: str
    created_at: str
    database: str
    heads: list[str]
    audit_entries: int
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    checkpoint_tree_size: int | None = None
    #: the original's file witness of the audit checkpoints: a copy restored into another path
    #: finds them only with GOVCRED_AUDIT_WITNESS_DIR set to it (absent from older backups)
    witness_dir: str | None = None

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _empty_dir(path: Path, what: str) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BackupError(f"{what} {path} 不是空目录 (is not an empty directory): choose a new one", path=str(path))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


#: the companions of a SQLite database in the data directory (the verifier's own,
#: ``verifier/verifier.sqlite3``): its WAL and shared memory, and the write lock beside it
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal", ".lock")


def _sqlite_companion(name: str, files: list[str]) -> bool:
    return any(name.endswith(s) and name[: -len(s)] in files for s in SQLITE_COMPANIONS)


def _copy_tree(src: Path, dest: Path, skip: set[str]) -> dict[str, str]:
    """Copy ``src`` into ``dest``; another SQLite database found in it (the verifier's, which may
    be writing) is taken through the online backup API like the main one, its WAL included,
    and its WAL, shared memory and lock file are left out (a file copy of them is no
    consistent database, and a lock is run-time state)."""
    copied: dict[str, str] = {}
    for root, dirs, files in os.walk(src):
        rel_root = Path(root).relative_to(src)
        if rel_root == Path("."):
            dirs[:] = [d for d in dirs if d not in skip]
            files = [f for f in files if f not in skip]
        (dest / rel_root).mkdir(parents=True, exist_ok=True, mode=0o700)
        for name in files:
            if _sqlite_companion(name, files):
                continue
            source, target = Path(root) / name, dest / rel_root / name
            if name.endswith(".sqlite3"):
                _sqlite_copy(source, target)
            else:
                shutil.copy2(source, target)
            target.chmod(0o600)
            copied[str(rel_root / name)] = _sha256(target)
    return copied


def _sqlite_path(url: str) -> Path:
    return Path(sa.engine.make_url(url).database or "")


def _sqlite_copy(source_path: Path, target_path: Path) -> None:
    """SQLite's online backup API: a consistent snapshot that includes what is still in the WAL,
    taken while other connections keep writing (a file copy would miss the WAL's pages)."""
    source = sqlite3.connect(source_path, timeout=30)
    target = sqlite3.connect(target_path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def backup(settings, engine, heads: list[str], dest: Path, checkpoint=None) -> Manifest:
    """Write a backup of the data directory and database of ``settings`` into ``dest`` (new or
    empty). ``checkpoint`` is called first (the runtime's checkpointer)."""
    dest = Path(dest)
    _empty_dir(dest, "备份目录 (backup directory)")
    tree_size = checkpoint().checkpoint.tree_size if checkpoint else None
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        target = dest / SQLITE_FILE
        _sqlite_copy(_sqlite_path(settings.database), target)
        with sqlite3.connect(target) as copy:
            entries = copy.execute("SELECT count(*) FROM audit_log").fetchone()[0]
        copy.close()
    else:
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise BackupError(PG_PROCEDURE.format(dest=dest), code="PG_DUMP_MISSING")
        target = dest / PG_DUMP
        with engine.connect() as conn:  # committed before the dump's snapshot: the dump has at least these
            entries = conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one()
        done = subprocess.run(
            [pg_dump, "--format=custom", "--no-owner", "--file", str(target), _libpq_url(settings.database)],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise BackupError(f"pg_dump failed: {done.stderr.strip()[:500]}")
    target.chmod(0o600)
    files = {target.name: _sha256(target)}
    data_dir = Path(settings.data_dir)
    if data_dir.exists():
        for rel, digest in _copy_tree(data_dir, dest / FILES, SKIPPED).items():
            files[f"{FILES}/{rel}"] = digest
    manifest = Manifest(
        format=FORMAT,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        database="sqlite" if sqlite else "postgresql",
        heads=sorted(heads),
        audit_entries=entries,
        files=files,
        checkpoint_tree_size=tree_size,
        witness_dir=str(Path(settings.witness_dir).resolve()),
    )
    manifest_path = dest / MANIFEST
    manifest_path.write_text(json.dumps(manifest.as_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    manifest_path.chmod(0o600)
    return manifest


def read_manifest(src: Path) -> Manifest:
    path = Path(src) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{src} 不是 govcred 备份 (not a govcred backup: no {MANIFEST})") from None
    except ValueError as exc:
        raise BackupError(f"{path}: {exc}") from None
    if data.get("format") != FORMAT:
        raise BackupError(f"{path}: unknown backup format {data.get('format')!r} (expected {FORMAT})")
    manifest = Manifest(**data)
    damaged = [rel for rel, digest in manifest.files.items() if not _intact(Path(src) / rel, digest)]
    if damaged:
        raise BackupError(f"备份文件缺失或损坏 (missing or damaged in the backup): {', '.join(sorted(damaged))}")
    return manifest


def _intact(path: Path, digest: str) -> bool:
    return path.is_file() and _sha256(path) == digest


def restore(settings, src: Path) -> Manifest:
    """Put the backup ``src`` into the (empty) data directory and database of ``settings``;
    the caller migrates the database afterwards."""
    src = Path(src)
    manifest = read_manifest(src)
    data_dir = Path(settings.data_dir)
    _empty_dir(data_dir, "数据目录 (data directory)")
    sqlite = settings.database.startswith("sqlite")
    if manifest.database == "sqlite":
        if not sqlite:
            raise BackupError("this backup holds a SQLite database, but GOVCRED_DATABASE_URL names PostgreSQL")
        target = _sqlite_path(settings.database)
        if target.exists():
            raise BackupError(f"数据库文件 {target} 已存在 (already exists): restore into an empty place")
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _sqlite_copy(src / SQLITE_FILE, target)
        target.chmod(0o600)
    else:
        if sqlite:
            raise BackupError("this backup holds a PostgreSQL dump: set GOVCRED_DATABASE_URL to an empty database")
        _restore_postgres(settings.database, src / PG_DUMP)
    if (src / FILES).exists():
        _copy_tree(src / FILES, data_dir, set())
    return manifest


def _restore_postgres(url: str, dump: Path) -> None:
    from govcred.core.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables = conn.execute(
                sa.text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            ).scalar_one()
    finally:
        engine.dispose()
    if tables:
        raise BackupError(f"目标数据库不是空的 (the target database has {tables} tables): restore into an empty one")
    pg_restore = shutil.which("pg_restore")
    if pg_restore is None:
        raise BackupError(PG_PROCEDURE.format(dest=dump.parent), code="PG_DUMP_MISSING")
    done = subprocess.run(
        [pg_restore, "--no-owner", "--exit-on-error", "--dbname", _libpq_url(url), str(dump)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()[:500]}")


@dataclass
class CheckReport:
    checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c["ok"] for c in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append({"check": name, "ok": ok, "detail": detail})


def check_database(engine, heads: set[str], script: set[str], audit_report) -> CheckReport:
    """Integrity of the database file, migrations at head, and the audit log against its checkpoints."""
    report = CheckReport()
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            integrity = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
            foreign = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            ok = integrity == ["ok"] and not foreign
            detail = (
                "ok"
                if ok
                else "; ".join(integrity[:5]) + (f"; {len(foreign)} foreign-key violations" if foreign else "")
            )
            report.add("integrity", ok, detail)
        else:
            conn.execute(sa.text("SELECT 1"))
            report.add("integrity", True, "PostgreSQL answers (page checksums are the server's own)")
    report.add(
        "migrations",
        heads == script,
        f"at {', '.join(sorted(heads))}"
        if heads == script
        else f"at {', '.join(sorted(heads)) or 'nothing'}; head is {', '.join(sorted(script))}: run govcred db upgrade",
    )
    kinds = sorted({p["problem"] for p in audit_report.problems})
    report.add(
        "audit",
        audit_report.ok,
        f"{audit_report.entries} entries, {audit_report.tree_size} in the checkpointed tree"
        if audit_report.ok
        else f"{', '.join(kinds)}: run govcred audit verify",
    )
    return report
