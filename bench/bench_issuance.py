"""Credential issuance: approvals committed per second.

One issuance = load the accepted application (row lock), records look-up, every eligibility
rule, decision row, claims, status-list index and permit number (core/allocation.py), ES256
signature, credential row, audit entries, the plugins' outbox rows, commit.

Printed, each next to raw ES256 signing measured in the same run (the one step no
implementation can skip; the ratio says how many signatures' worth of time the rest costs):

- SQLite, one decision per transaction (``decide``): fsync-bound (WAL, synchronous=FULL),
  so the cost of one fsync on the same disk is measured and printed beside it;
- SQLite batched (``approve_batch``, 200 decisions a transaction; DESIGN target ≥ 3,000/s);
- PostgreSQL, one process, one decision per transaction;
- PostgreSQL with 1, 2 and 4 processes deciding side by side (the scaling curve; DESIGN
  aim: 4 processes ≥ 2.5x one). Each process is a fresh interpreter with its own runtime.

The machine's load average is printed first: on a shared 2-core machine the figures are
only comparable between runs at low load.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
import uuid
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from govcred.core.accounts.officers import Principal
from govcred.core.clock import FixedClock
from govcred.core.migrate import upgrade
from govcred.core.services import decisions
from govcred.core.services.batch_decisions import approve_batch
from govcred.testing import T0, PostgresServer, make_runtime, make_settings
from tests.core.web.pages.pagekit import add_officer, totp_code
from tests.core.workflow_helpers import officer, rule_clean_applications

#: Applications prepared for each figure; deciding stops after SECONDS.
APPLICATIONS = int(os.environ.get("BENCH_ISSUANCE_N", "600"))
BATCHED = int(os.environ.get("BENCH_ISSUANCE_BATCHED_N", "3000"))
SECONDS = float(os.environ.get("BENCH_ISSUANCE_SECONDS", "10"))
BATCH_TARGET = 3_000
SCALING_TARGET = 2.5


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


def fsync_seconds(directory: Path, n: int = 200) -> float:
    """The cost of one small write + fsync in ``directory`` (what a SQLite commit waits for)."""
    path = directory / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        start = time.perf_counter()
        for i in range(n):
            os.pwrite(fd, b"x" * 4096, (i % 16) * 4096)
            os.fsync(fd)
        return (time.perf_counter() - start) / n
    finally:
        os.close(fd)
        path.unlink()


def _runtime(data_dir: Path, url: str):
    rt = make_runtime(make_settings(data_dir, url), FixedClock(T0))
    upgrade(rt.engine, rt.pm)
    rt.keystore.ensure_key()
    return rt


def one_per_transaction(rt, app_ids: list[str], principal: Principal, seconds: float = SECONDS) -> tuple[int, float]:
    rt.keystore.active_key()
    start = time.perf_counter()
    issued = 0
    for app_id in app_ids:
        issued += (
            decisions.decide(rt.collaborators, app_id, approve=True, principal=principal).credential_id is not None
        )
        if time.perf_counter() - start > seconds:
            break
    return issued, time.perf_counter() - start


def batched(rt, n: int) -> tuple[int, float]:
    name = f"batch-{uuid.uuid4().hex[:6]}"
    seed = add_officer(rt, name, "reviewer")
    with rt.uow(readonly=True) as uow:
        found = uow.officers.by_username(name)
    principal = Principal("officer", found.id, "reviewer", found.display_name)
    rule_clean_applications(rt, n, first=1000)
    rt.keystore.active_key()
    start = time.perf_counter()
    report = approve_batch(rt.collaborators, principal, totp_code=totp_code(seed, rt), limit=n, chunk=200)
    return len(report.approved), time.perf_counter() - start


def _process(url: str, data_dir: str, principal: tuple, app_ids: list[str], start_at: float, out) -> None:
    """One deciding process: its own runtime, its share of the applications."""
    rt = make_runtime(make_settings(Path(data_dir), url), FixedClock(T0))
    try:
        rt.keystore.active_key()
        while time.time() < start_at:  # every process starts deciding at the same moment
            time.sleep(0.005)
        issued, elapsed = one_per_transaction(rt, app_ids, Principal(*principal))
        out.put((issued, elapsed))
    finally:
        rt.close()


def processes(url: str, data_dir: Path, rt, count: int, per_process: int) -> tuple[int, float]:
    reviewer = officer(rt, "reviewer", f"bench-{uuid.uuid4().hex[:8]}")
    principal = (reviewer.kind, reviewer.id, reviewer.role, reviewer.name, reviewer.factor_at)  # a fresh factor
    shares = [rule_clean_applications(rt, per_process, first=1000 + i * per_process) for i in range(count)]
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    start_at = time.time() + 8.0  # spawned interpreters import govcred first
    workers = [
        context.Process(target=_process, args=(url, str(data_dir), principal, share, start_at, out)) for share in shares
    ]
    for w in workers:
        w.start()
    results = [out.get(timeout=300) for _ in workers]
    for w in workers:
        w.join(60)
    issued = sum(r[0] for r in results)
    return issued, max(r[1] for r in results)


def _line(label: str, issued: int, elapsed: float, baseline: float, extra: str = "") -> float:
    rate = issued / elapsed
    print(
        f"{label:<46} {rate:10,.0f} /s  ({issued} issued in {elapsed:.1f} s; "
        f"{baseline / rate:,.0f} signatures' time per issuance{extra})",
        flush=True,
    )
    return rate


def main() -> None:
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs (figures below are only comparable at low load)")
    baseline = raw_sign_rate()
    print(f"{'baseline: raw ES256 sign (cryptography)':<46} {baseline:10,.0f} signatures/s")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "var"
        data_dir.mkdir()
        fsync = fsync_seconds(data_dir)
        print(
            f"{'baseline: one 4 KiB write + fsync, same disk':<46} {1 / fsync:10,.0f} fsyncs/s  ({fsync * 1000:.2f} ms each)"
        )
        rt = _runtime(data_dir, f"sqlite:///{data_dir / 'govcred.sqlite3'}")
        try:
            reviewer = officer(rt, "reviewer", "bench-sqlite")
            issued, elapsed = one_per_transaction(rt, rule_clean_applications(rt, APPLICATIONS), reviewer)
            rate = _line("SQLite: one decision per transaction", issued, elapsed, baseline)
            print(f"{'':<46} {'':>10}    ({rate * fsync:.2f} of each second waits on fsync at one commit a decision)")
            issued, elapsed = batched(rt, BATCHED)
            rate = issued / elapsed
            verdict = "meets" if rate >= BATCH_TARGET else "BELOW"
            _line("SQLite: batched, 200 decisions a transaction", issued, elapsed, baseline, f"; {verdict} ≥ 3,000/s")
        finally:
            rt.close()
    pg = PostgresServer()
    if not pg.available():
        print(f"PostgreSQL: no server answers at {pg.address}; skipped")
        return
    rates = {}
    for count in (1, 2, 4):
        with pg.throwaway("govcred_bench") as url, tempfile.TemporaryDirectory() as tmp:
            rt = _runtime(Path(tmp), url)
            try:
                if count == 1:
                    reviewer = officer(rt, "reviewer", "bench-pg")
                    issued, elapsed = one_per_transaction(rt, rule_clean_applications(rt, APPLICATIONS), reviewer)
                    _line("PostgreSQL: one process, in this one", issued, elapsed, baseline)
                issued, elapsed = processes(url, Path(tmp), rt, count, APPLICATIONS // count * 2)
            finally:
                rt.close()
        rates[count] = issued / elapsed
        scale = f"; {rates[count] / rates[1]:.2f}x one process" if count > 1 else ""
        _line(f"PostgreSQL: {count} process{'es' if count > 1 else ''} side by side", issued, elapsed, baseline, scale)
    verdict = "meets" if rates[4] >= SCALING_TARGET * rates[1] else "BELOW"
    print(f"PostgreSQL: 4 processes = {rates[4] / rates[1]:.2f}x one ({verdict} the ≥ {SCALING_TARGET}x aim)")


if __name__ == "__main__":
    main()
