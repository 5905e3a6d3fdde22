"""Storage on SQLite and PostgreSQL: migrations, connection settings, encryption at rest."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from govcred.core import models
from govcred.core.migrate import current_heads, script_heads
from govcred.core.orm import applications


def test_migrations_reach_every_head(runtime):
    assert current_heads(runtime.engine, runtime.pm) == script_heads(runtime.engine, runtime.pm)


def test_migrations_match_the_models(runtime):
    """The schema the migrations build is the schema the code maps (no drift)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from govcred.core.migrate import target_metadata

    with runtime.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": False}), target_metadata(runtime.pm)
        )
    assert diff == []


def test_sqlite_connection_settings(sqlite_runtime):
    with sqlite_runtime.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def _new_application(**kw):
    doc = {"schema": "test/app@1", "applicant": {"id_number": "110101199001011237", "name": "王小明"}}
    return models.Application(
        schema="test/app@1",
        channel="online",
        document=doc,
        subject_index="idx",
        subject_name_masked="王*明",
        subject_id_masked="1101**********1237",
        county="331121",
        **kw,
    )


def test_application_document_is_encrypted_at_rest(runtime, clock):
    app = _new_application()
    app.created_at = clock.now()
    with runtime.uow() as uow:
        uow.applications.add(app)
        uow.commit()
    with runtime.engine.connect() as conn:
        raw = conn.execute(sa.select(applications.c.document_enc)).scalar()
    assert b"110101199001011237" not in raw and "王小明".encode() not in raw
    with runtime.uow(readonly=True) as uow:
        loaded = uow.applications.get(app.id)
        assert loaded.document["applicant"]["id_number"] == "110101199001011237"


def test_document_ciphertext_cannot_move_to_another_row(runtime, clock):
    from govcred.core.crypto import DecryptionError

    a, b = _new_application(), _new_application()
    a.created_at = b.created_at = clock.now()
    with runtime.uow() as uow:
        uow.applications.add(a)
        uow.applications.add(b)
        uow.commit()
    with runtime.engine.begin() as conn:
        blob = conn.execute(sa.select(applications.c.document_enc).where(applications.c.id == a.id)).scalar()
        conn.execute(sa.update(applications).where(applications.c.id == b.id).values(document_enc=blob))
    with runtime.uow(readonly=True) as uow, pytest.raises(DecryptionError):
        uow.applications.get(b.id)


def test_optimistic_version_stops_a_second_writer(runtime, clock):
    """Two transactions at once (PostgreSQL): the later commit fails on the version check."""
    from sqlalchemy.orm.exc import StaleDataError

    if runtime.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer: a second write transaction waits for the first (BEGIN IMMEDIATE)")

    app = _new_application()
    app.created_at = clock.now()
    with runtime.uow() as uow:
        uow.applications.add(app)
        uow.commit()
    with runtime.uow() as first:
        mine = first.applications.get(app.id)
        with runtime.uow() as second:
            theirs = second.applications.get(app.id)
            theirs.submit(clock.now())
            second.commit()
        mine.withdraw()
        with pytest.raises(StaleDataError):
            first.commit()


def test_sqlite_concurrent_read_modify_write(sqlite_runtime, clock):
    """BEGIN IMMEDIATE: 8 threads x 25 increments of one row, no 'database is locked'."""
    from govcred.core.audit_verify import verify_audit

    rt = sqlite_runtime

    def verify():
        return verify_audit(rt.uow, rt.settings, rt.clock, rt.audit_witnesses, rt.secrets.audit_key)

    errors = []
    before = verify().entries

    def work():
        try:
            for _ in range(25):
                with sqlite_runtime.uow() as uow:
                    uow.audit.append(
                        actor="test", role="admin", action="increment", object_type="counter", object_id="1"
                    )
                    uow.commit()
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rt.checkpointer.checkpoint()
    report = verify()
    assert report.ok and report.entries == report.tree_size == before + 200
