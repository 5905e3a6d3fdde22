"""kill -9 in the middle of writes leaves the database consistent (SQLite and PostgreSQL).

A child process commits applications, each with its audit entry and outbox row in one
transaction, as fast as it can; the parent kills it without warning mid-stream, then checks
that the file is intact, the audit log verifies against its checkpoints (the kill may land
inside a checkpoint), and no transaction is half there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import sqlalchemy as sa

from govcred.core.audit_verify import verify_audit
from govcred.core.orm import applications, audit_log, outbox
from govcred.testing import TEST_ENV, make_runtime

WRITER = textwrap.dedent("""
    import sys
    from govcred.core.clock import Clock
    from govcred.core.config import load_settings
    from govcred.core.models import Application
    from govcred.core.runtime import Runtime
    from govcred.testing import make_pm

    settings = load_settings(sys.argv[1])
    rt = Runtime.create(settings, pm=make_pm())
    n = 0
    while True:
        with rt.uow() as uow:
            app = Application(schema="test/crash@1", channel="window", document={"n": n, "pad": "x" * 2000},
                              subject_index=f"s{n}", subject_name_masked="王*", subject_id_masked="-",
                              county="331121")
            app.created_at = rt.clock.now()
            uow.applications.add(app)
            uow.flush()
            uow.audit.append(actor="crash-test", role="clerk", action="application.created",
                             object_type="application", object_id=app.id)
            uow.outbox.add("sms", "application.accepted", {"n": n}, aggregate_type="application",
                           aggregate_id=app.id)
            uow.commit()
        n += 1
        if n % 7 == 0:  # the kill may land inside a checkpoint too
            rt.checkpointer.checkpoint()
        print(n, flush=True)
""")


def test_kill_during_writes_leaves_the_database_consistent(settings, database_url, data_dir):
    env = {
        **os.environ,
        **TEST_ENV,
        "GOVCRED_DATABASE_URL": database_url,
        "GOVCRED_AUDIT_WITNESS_DIR": settings.audit_witness_dir,
        "PYTHONPATH": os.getcwd(),
    }
    for attempt_at in (15, 40):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(data_dir)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line or int(line) >= attempt_at:
                break
        assert line, child.stderr.read()
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL

    from govcred.core.db import make_engine
    from govcred.core.orm import start_mappers

    start_mappers()
    engine = make_engine(database_url)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        apps = set(conn.execute(sa.select(applications.c.id)).scalars())
        audited = set(
            conn.execute(sa.select(audit_log.c.object_id).where(audit_log.c.action == "application.created")).scalars()
        )
        queued = set(conn.execute(sa.select(outbox.c.aggregate_id)).scalars())
    assert len(apps) >= 40
    assert apps == audited == queued, "a transaction was left half-written"
    engine.dispose()
    # every entry that committed is there, in order: a checkpoint now puts them all in the tree
    rt = make_runtime(settings)
    try:
        rt.checkpointer.checkpoint()
        report = verify_audit(rt.uow, rt.settings, rt.clock, rt.audit_witnesses, rt.secrets.audit_key)
    finally:
        rt.close()
    assert report.ok and report.tree_size == report.entries, report.problems
