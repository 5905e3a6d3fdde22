"""The lifecycle sweep over a table of 100,000 permits (SQLite, one process).

Seeds 100,000 issued permits straight into a migrated SQLite database with bulk inserts
(application with its encrypted document, credential, one status list). ``LAPSED`` of them
lapsed on the same anniversary without endorsement; the rest lapse 70 to 365 days later
(outside the reminder look-ahead, so the figure is the suspension path alone). Then times
``core.lifecycle.sweep`` as of the morning after: per lapsed permit a status change and the
plugins' outbox rows (the suspension SMS and the provincial push record), per batch of 1,000
one audit entry, one list revision and the checkpoint, committed together.

Baseline, measured in the same run on a copy of the same database: one bare ``UPDATE
credentials SET status = 'suspended' WHERE status = 'valid' AND expires_at <= now`` -- the
floor of changing the same rows and nothing else. Then the second sweep over the same table,
which must change nothing.

Default: 10,000 of the 100,000 lapse at once (a heavy day: 36 times the average number of
anniversaries per day, all missed). ``BENCH_SWEEP_LAPSED=100000`` lapses every permit;
nearly all of the sweep's time is then ``Outbox.add`` (three statements per row, two rows
per permit), so it runs for minutes, not seconds.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

#: BENCH_SWEEP_PERMITS / BENCH_SWEEP_LAPSED override the counts (see the module docstring).
PERMITS = int(os.environ.get("BENCH_SWEEP_PERMITS", "100000"))
LAPSED = min(PERMITS, int(os.environ.get("BENCH_SWEEP_LAPSED", "10000")))
LIST_SIZE = 262_144
BATCH = 1_000
SEED_CHUNK = 10_000
BEIJING = dt.timezone(dt.timedelta(hours=8))
ISSUED = dt.datetime(2026, 3, 1, 10, 0, tzinfo=BEIJING)
LAPSES = dt.datetime(2027, 3, 1, 23, 59, 59, tzinfo=BEIJING)
SWEEP_AT = dt.datetime(2027, 3, 2, 0, 30, tzinfo=BEIJING)


def _document_json() -> str:
    """One application document as JSON with a ``{phone}`` slot (holders differ by phone only:
    the sweep reads nothing else of the document)."""
    from tests.core.permits import document, new_id_number

    text = json.dumps(document(new_id_number(), phone="PHONE"), ensure_ascii=False, separators=(",", ":"))
    return text.replace("{", "{{").replace("}", "}}").replace("PHONE", "{phone}")


def _lapses(i: int) -> dt.datetime:
    """The first LAPSED permits lapsed on LAPSES; the others 70-365 days after it."""
    return LAPSES if i < LAPSED else LAPSES + dt.timedelta(days=70 + i % 296)


def seed(rt) -> None:
    """Bulk-insert PERMITS permits (one signed token shared: the sweep never reads it)."""
    from govcred.core.models import new_id
    from govcred.core.orm import _document_aad, applications, credentials, status_lists
    from govcred.core.status import status_claim
    from tests.core.permits import issue_permit

    template = issue_permit(rt)  # one real credential: its token, claims and type
    cipher = rt.secrets.cipher
    document_json = _document_json()
    now = ISSUED.astimezone(dt.UTC)
    with rt.engine.begin() as conn:
        conn.execute(sa.update(status_lists).values(size=LIST_SIZE))
        list_id = conn.execute(sa.select(status_lists.c.id)).scalar()
        for start in range(0, PERMITS, SEED_CHUNK):
            apps, creds = [], []
            for i in range(start, min(start + SEED_CHUNK, PERMITS)):
                app_id, cred_id = new_id(), f"bench{i:017d}"
                body = document_json.format(phone=f"138{i:08d}").encode()
                apps.append(
                    {
                        "id": app_id,
                        "schema": "zj-residence/application@1",
                        "kind": "first_issue",
                        "channel": "online",
                        "state": "approved",
                        "document_enc": cipher.encrypt(body, _document_aad(app_id)),
                        "subject_index": f"bench-{i}",
                        "subject_name_masked": "张*明",
                        "subject_id_masked": "3301**1234",
                        "county": "331121",
                        "permit_no": f"ZJ331121B{i:08d}",
                        "created_at": now,
                        "submitted_at": now,
                        "accepted_at": now,
                        "decided_at": now,
                        "deadline_provisional": False,
                        "version": 1,
                    }
                )
                idx = (template.status_idx + 1 + i) % LIST_SIZE  # every index but the template's
                claims = {**template.claims, "jti": cred_id, "status": status_claim(rt.settings.issuer, list_id, idx)}
                creds.append(
                    {
                        "id": cred_id,
                        "permit_no": f"ZJ331121B{i:08d}",
                        "version": 1,
                        "application_id": app_id,
                        "credential_type": template.credential_type,
                        "subject_index": f"bench-{i}",
                        "issued_at": now,
                        "not_before": now,
                        "expires_at": _lapses(i),
                        "kid": template.kid,
                        "token": template.token,
                        "claims": claims,
                        "status_list_id": list_id,
                        "status_idx": idx,
                        "status": "valid",
                        "status_reason": "",
                    }
                )
            conn.execute(sa.insert(applications), apps)
            conn.execute(sa.insert(credentials), creds)


def _runtime(data_dir: Path, db: Path):
    from govcred.core.clock import FixedClock
    from govcred.core.config import load_settings
    from govcred.core.runtime import Runtime
    from govcred.testing import TEST_ENV, make_pm

    env = {**TEST_ENV, "GOVCRED_DATABASE_URL": f"sqlite:///{db}"}
    settings = load_settings(data_dir, env=env)
    return Runtime.create(settings, pm=make_pm(), clock=FixedClock(ISSUED))


def baseline(db: Path) -> float:
    from govcred.core.db import make_engine

    engine = make_engine(f"sqlite:///{db}", poolclass=NullPool)
    started = time.perf_counter()
    with engine.begin() as conn:
        changed = conn.execute(
            sa.text("UPDATE credentials SET status = 'suspended' WHERE status = 'valid' AND expires_at <= :now"),
            {"now": SWEEP_AT.astimezone(dt.UTC).replace(tzinfo=None)},
        ).rowcount
    seconds = time.perf_counter() - started
    engine.dispose()
    assert changed == LAPSED + 1, changed
    return seconds


def main() -> None:
    from govcred.core.db import make_engine
    from govcred.core.migrate import upgrade
    from govcred.core.services.sweep import run_sweep
    from govcred.testing import make_pm

    work = Path(tempfile.mkdtemp(prefix="govcred-bench-sweep-"))
    try:
        db = work / "govcred.sqlite3"
        engine = make_engine(f"sqlite:///{db}", poolclass=NullPool)
        upgrade(engine, make_pm())
        engine.dispose()
        (work / "var").mkdir()
        rt = _runtime(work / "var", db)
        rt.keystore.ensure_key()
        started = time.perf_counter()
        seed(rt)
        rt.close()
        print(f"seeded {PERMITS + 1:,} permits ({LAPSED + 1:,} lapsed) in {time.perf_counter() - started:.1f} s")
        shutil.copy(db, work / "baseline.sqlite3")
        base = baseline(work / "baseline.sqlite3")
        print(f"baseline: bare UPDATE of the same rows   {base:7.2f} s  {(LAPSED + 1) / base:12,.0f} rows/s")

        rt = _runtime(work / "var", db)
        first = run_sweep(rt.collaborators, now=SWEEP_AT, batch=BATCH)
        assert first.suspended == LAPSED + 1, first.suspended
        print(
            f"sweep (status + audit + outbox, batches of {BATCH:,}) {first.seconds:7.2f} s  "
            f"{first.suspended / first.seconds:12,.0f} permits/s  ratio {first.seconds / base:,.0f}x the bare UPDATE"
        )
        second = run_sweep(rt.collaborators, now=SWEEP_AT, batch=BATCH)
        assert (second.suspended, second.reminders, second.run_id) == (0, 0, None)
        print(f"second sweep over the same {PERMITS + 1:,} permits (changed nothing)  {second.seconds:7.2f} s")
        rt.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
