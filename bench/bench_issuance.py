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

import sqlalchemy as sa
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


def scheduled(pid: int | str = "self") -> tuple[float, float] | None:
    """(seconds on a CPU, seconds ready but waiting for one) of a task, from the kernel's
    schedstat; None where it cannot be read. The second one tells a process that waits for the
    database from one that waits for its turn on a busy machine."""
    try:
        on_cpu, waiting, _slices = Path(f"/proc/{pid}/schedstat").read_text().split()
    except (OSError, ValueError):
        return None
    return int(on_cpu) / 1e9, int(waiting) / 1e9


def backends_scheduled(rt) -> tuple[float, float] | None:
    """:func:`scheduled` summed over the PostgreSQL backends of ``rt``'s database (the server
    runs on this machine)."""
    with rt.engine.connect() as conn:
        pids = conn.execute(
            sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_type = 'client backend'"  # this one too: the pool hands it to the decisions
            )
        ).scalars()
        found = [t for t in map(scheduled, pids) if t is not None]  # one may have ended meanwhile
    if not found:
        return None
    return sum(f[0] for f in found), sum(f[1] for f in found)


def _minus(after, before):
    return None if after is None or before is None else tuple(a - b for a, b in zip(after, before, strict=True))


def where_time_goes(rt, app_ids: list[str], principal: Principal) -> tuple[int, float, tuple | None, tuple | None]:
    """One process deciding one application a transaction: (issued, wall time, this process's
    (CPU, run-queue wait), its backends' (CPU, run-queue wait)); None where unreadable."""
    own, server = scheduled(), backends_scheduled(rt)
    issued, elapsed = one_per_transaction(rt, app_ids, principal)
    return issued, elapsed, _minus(scheduled(), own), _minus(backends_scheduled(rt), server)


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


def batched(rt, n: int) -> tuple[int, float, float]:
    """Approve ``n`` rule-clean applications in one batch: (approved, wall time, CPU seconds)."""
    name = f"batch-{uuid.uuid4().hex[:6]}"
    seed = add_officer(rt, name, "reviewer")
    with rt.uow(readonly=True) as uow:
        found = uow.officers.by_username(name)
    principal = Principal("officer", found.id, "reviewer", found.display_name)
    rule_clean_applications(rt, n, first=1000)
    rt.keystore.active_key()
    start, cpu = time.perf_counter(), time.process_time()
    report = approve_batch(rt.collaborators, principal, totp_code=totp_code(seed, rt), limit=n, chunk=200)
    return len(report.approved), time.perf_counter() - start, time.process_time() - cpu


def _process(url: str, data_dir: str, principal: tuple, app_ids: list[str], start_at: float, out) -> None:
    """One deciding process: its own runtime, its share of the applications."""
    rt = make_runtime(make_settings(Path(data_dir), url), FixedClock(T0))
    try:
        rt.keystore.active_key()
        while time.time() < start_at:  # every process starts deciding at the same moment
            time.sleep(0.005)
        before = scheduled()
        issued, elapsed = one_per_transaction(rt, app_ids, Principal(*principal))
        out.put((issued, elapsed, _minus(scheduled(), before) or (0.0, 0.0)))
    finally:
        rt.close()


def processes(url: str, data_dir: Path, rt, count: int, per_process: int) -> tuple[int, float, tuple]:
    """``count`` processes deciding side by side: (issued, wall time, their (seconds on a CPU,
    seconds queued for one) together)."""
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
    return issued, max(r[1] for r in results), tuple(sum(r[2][i] for r in results) for i in (0, 1))


def _line(label: str, issued: int, elapsed: float, baseline: float, extra: str = "") -> float:
    rate = issued / elapsed
    print(
        f"{label:<46} {rate:10,.0f} /s  ({issued} issued in {elapsed:.1f} s; "
        f"{baseline / rate:,.0f} signatures' time per issuance{extra})",
        flush=True,
    )
    return rate


def _breakdown(issued: int, elapsed: float, own: tuple | None, server: tuple | None) -> None:
    """Where one process's time goes, and what that allows on this machine: a process busy on
    a CPU for a share s of the time it is not queued for one cannot, however many run side by
    side, go past cpu_count / s times one (nor past the CPUs the database itself needs)."""
    if own is None:
        print(f"{'':<46} {'':>10}    (no schedstat here: where the time goes is not measured)")
        return
    per = 1000 / issued
    cpu, queued = own
    server_cpu, server_queued = server or (0.0, 0.0)
    rest = max(0.0, elapsed - cpu - queued - server_cpu - server_queued)
    print(
        f"{'':<46} {'':>10}    (per issuance {elapsed * per:.2f} ms = {cpu * per:.2f} ms on a CPU in this process"
        f" + {queued * per:.2f} ms queued for a CPU (other load) + {server_cpu * per:.2f} ms PostgreSQL backend CPU"
        f" + {server_queued * per:.2f} ms backend queued + {rest * per:.2f} ms waiting (commit fsync, round trips))"
    )
    # on an idle machine nothing queues: the process and its backend take turns, and only the
    # waits for the disk and the network remain
    share = (cpu + server_cpu) / (cpu + server_cpu + rest)
    print(
        f"{'':<46} {'':>10}    (so one process keeps {share:.2f} CPUs busy on an idle machine: on "
        f"{os.cpu_count()} CPUs, any number of such processes reach at most {os.cpu_count() / share:.2f}x one)"
    )


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
            issued, elapsed, cpu = batched(rt, BATCHED)
            rate = issued / elapsed
            verdict = "meets" if rate >= BATCH_TARGET else "BELOW"
            _line("SQLite: batched, 200 decisions a transaction", issued, elapsed, baseline, f"; {verdict} ≥ 3,000/s")
            print(
                f"{'':<46} {'':>10}    ({cpu / issued * 1e6:.0f} µs of CPU each: {issued / cpu:,.0f}/s "
                f"when this process has a core to itself)"
            )
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
                    issued, elapsed, own, server = where_time_goes(
                        rt, rule_clean_applications(rt, APPLICATIONS), reviewer
                    )
                    _line("PostgreSQL: one process, in this one", issued, elapsed, baseline)
                    _breakdown(issued, elapsed, own, server)
                issued, elapsed, (cpu, queued) = processes(url, Path(tmp), rt, count, APPLICATIONS // count * 2)
            finally:
                rt.close()
        rates[count] = issued / elapsed
        scale = f"; {rates[count] / rates[1]:.2f}x one process" if count > 1 else ""
        scale += f"; the deciding processes used {cpu / elapsed:.2f} CPUs and queued {queued / elapsed:.2f} s a second for one"
        _line(f"PostgreSQL: {count} process{'es' if count > 1 else ''} side by side", issued, elapsed, baseline, scale)
    verdict = "meets" if rates[4] >= SCALING_TARGET * rates[1] else "BELOW"
    print(f"PostgreSQL: 4 processes = {rates[4] / rates[1]:.2f}x one ({verdict} the ≥ {SCALING_TARGET}x aim)")


if __name__ == "__main__":
    main()
