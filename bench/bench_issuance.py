"""Credential issuance: approvals committed per second (core/services/decisions.py ``decide``).

Target (DESIGN.md): ≥ 1,000/s on SQLite in one process; PostgreSQL printed too. One
issuance = load the accepted application (row lock), records look-up, every eligibility
rule, decision row, claims, status-list slot, ES256 signature, credential row, audit
entries, outbox rows from the plugins' hooks, commit (SQLite: WAL, synchronous=FULL).
Baseline measured in the same run: raw ES256 signatures per second with ``cryptography``
(the one step no implementation can skip); the ratio says how many signatures' worth of
time the rest of an issuance costs.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
import uuid
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from govcred.core import models
from govcred.core.migrate import upgrade
from govcred.core.services import decisions
from govcred.testing import T0, PostgresServer, make_runtime, make_settings
from tests.core.workflow_helpers import document, officer
from tests.plugins.zhejiang_residence.zj_fixtures import make_id

#: Applications prepared per database; issuing stops after SECONDS (the bench stays under a minute).
APPLICATIONS = int(os.environ.get("BENCH_ISSUANCE_N", "800"))
SECONDS = float(os.environ.get("BENCH_ISSUANCE_SECONDS", "12"))
MUST = 1_000


def raw_sign_rate(seconds: float = 1.5) -> float:
    key = ec.generate_private_key(ec.SECP256R1())
    payload = b"x" * 420  # about the size of a credential's signing input
    algorithm = ec.ECDSA(hashes.SHA256())
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            key.sign(payload, algorithm)
        done += 100
    return done / elapsed


def _people(n: int) -> list[str]:
    births = [f"{1960 + i % 40}{1 + i % 12:02d}{1 + i % 28:02d}" for i in range(n)]
    return [make_id(birth, "330102", f"{i % 1000:03d}") for i, birth in enumerate(births)]


def _prepare(rt, n: int) -> list[str]:
    """n accepted applications of n different people, each with a qualifying registration."""
    from govcred.plugins.zhejiang_residence.configured import configured

    ids = _people(n)
    since = dt.date(2026, 1, 1)
    configured(rt.pm).import_people(
        {i: {"registrations": [{"division": "331121", "declared": since, "ended": None}], "permits": []} for i in ids},
        rt.clock.now(),
    )
    now = rt.clock.now()
    deadline = rt.calendar.deadline(now).at
    app_ids = []
    with rt.uow() as uow:
        for id_number in ids:
            app = models.Application(
                schema="zj-residence/application@1",
                channel="online",
                document=document(["a"], id_number=id_number),
                state=models.ACCEPTED,
                subject_index=rt.secrets.index(id_number, "id_number"),
                subject_name_masked="张*明",
                subject_id_masked=id_number[:4] + "*" * 10 + id_number[-4:],
                county="331121",
                created_at=now,
                submitted_at=now,
                accepted_at=now,
                deadline=deadline,
            )
            uow.applications.add(app)
            app_ids.append(app.id)
        uow.commit()
    return app_ids


def issuance_rate(rt, n: int) -> tuple[float, int]:
    reviewer = officer(rt, "reviewer", f"bench-{uuid.uuid4().hex[:8]}")
    app_ids = _prepare(rt, n)
    rt.keystore.active_key()
    start = time.perf_counter()
    issued = 0
    for app_id in app_ids:
        decision = decisions.decide(rt.collaborators, app_id, approve=True, principal=reviewer)
        issued += decision.credential_id is not None
        if time.perf_counter() - start > SECONDS:
            break
    return issued / (time.perf_counter() - start), issued


def _runtime(data_dir: Path, url: str):
    settings = make_settings(data_dir, url)
    from govcred.core.clock import FixedClock

    rt = make_runtime(settings, FixedClock(T0))
    upgrade(rt.engine, rt.pm)
    rt.keystore.ensure_key()
    return rt


def main() -> None:
    baseline = raw_sign_rate()
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs (figures below are only comparable at low load)")
    print(f"baseline: raw ES256 sign (cryptography)       {baseline:10,.0f} signatures/s")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "var"
        data_dir.mkdir()
        rt = _runtime(data_dir, f"sqlite:///{data_dir / 'govcred.sqlite3'}")
        try:
            rate, issued = issuance_rate(rt, APPLICATIONS)
        finally:
            rt.close()
        verdict = "meets" if rate >= MUST else "BELOW"
        print(
            f"SQLite: issuances committed, one process      {rate:10,.0f} /s  ({issued} issued; "
            f"{verdict} the ≥ {MUST:,}/s target; {baseline / rate:.1f} signatures' time per issuance)"
        )
    pg = PostgresServer()
    if not pg.available():
        print(f"PostgreSQL: no server answers at {pg.address}; skipped")
        return
    with pg.throwaway("govcred_bench") as url, tempfile.TemporaryDirectory() as tmp:
        rt = _runtime(Path(tmp), url)
        try:
            rate, issued = issuance_rate(rt, APPLICATIONS)
        finally:
            rt.close()
    print(
        f"PostgreSQL: issuances committed, one process  {rate:10,.0f} /s  ({issued} issued; "
        f"{baseline / rate:.1f} signatures' time per issuance)"
    )


if __name__ == "__main__":
    main()
