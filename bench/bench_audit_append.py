"""Audit appends from concurrent write transactions on PostgreSQL: committed transactions/s.

Each transaction appends one audit entry and then does 2 ms of other work before it commits
(``pg_sleep``: the rest of a decision -- the signature, the credential and outbox rows), as a
use case does. Baseline in the same run: the hash chain this replaced, whose append locks the
single ``audit_head`` row (SELECT ... FOR UPDATE, INSERT, UPDATE), written here on scratch
tables exactly as ``core/audit.py`` did it. With the head row locked until commit, N writers
take turns; with the Merkle design (one INSERT, the tree built by the checkpointer) they
overlap. The ratio is the figure: new / chain at the same thread count.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from govcred.core.migrate import upgrade
from govcred.testing import T0, PostgresServer, make_runtime, make_settings

SECONDS = float(os.environ.get("BENCH_AUDIT_SECONDS", "4"))
THREADS = (1, 4, 8)
WORK = 0.002

CHAIN_DDL = (
    "CREATE TABLE bench_chain_head (id int PRIMARY KEY, seq bigint NOT NULL, hash varchar(64) NOT NULL)",
    "CREATE TABLE bench_chain_log (seq bigint PRIMARY KEY, at timestamptz NOT NULL, actor varchar(64) NOT NULL, "
    "action varchar(64) NOT NULL, prev_hash varchar(64) NOT NULL, hash varchar(64) NOT NULL)",
    "INSERT INTO bench_chain_head VALUES (1, 0, repeat('0', 64))",
)


def _chain_append(session, now) -> None:
    """The old append: lock the head, link to it, move it."""
    seq, prev = session.execute(sa.text("SELECT seq, hash FROM bench_chain_head WHERE id = 1 FOR UPDATE")).one()
    entry = json.dumps({"seq": seq + 1, "at": now.isoformat(), "actor": "bench", "action": "x"}, sort_keys=True)
    digest = hashlib.sha256(prev.encode() + b"|" + entry.encode()).hexdigest()
    session.execute(
        sa.text("INSERT INTO bench_chain_log VALUES (:s, :at, 'bench', 'x', :p, :h)"),
        {"s": seq + 1, "at": now, "p": prev, "h": digest},
    )
    session.execute(
        sa.text("UPDATE bench_chain_head SET seq = :s, hash = :h WHERE id = 1"), {"s": seq + 1, "h": digest}
    )


def _rate(threads: int, transaction) -> float:
    stop = threading.Event()
    counts = [0] * threads

    def loop(i: int) -> None:
        while not stop.is_set():
            transaction()
            counts[i] += 1

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    time.sleep(SECONDS)
    stop.set()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - start)


def main() -> None:
    pg = PostgresServer()
    if not pg.available():
        print(f"PostgreSQL: no server answers at {pg.address}; skipped")
        return
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (figures are only comparable at low load)")
    with pg.throwaway("govcred_bench") as url, tempfile.TemporaryDirectory() as tmp:
        rt = make_runtime(make_settings(Path(tmp) / "var", url))
        try:
            upgrade(rt.engine, rt.pm)
            with rt.engine.begin() as conn:
                for ddl in CHAIN_DDL:
                    conn.execute(sa.text(ddl))

            def chain() -> None:  # through a unit of work too, so that only the append differs
                with rt.uow() as uow:
                    _chain_append(uow.session, T0)
                    uow.session.execute(sa.text("SELECT pg_sleep(:w)"), {"w": WORK})
                    uow.commit()

            def merkle() -> None:
                with rt.uow() as uow:
                    uow.audit.append(actor="bench", role="admin", action="x", object_type="t", object_id="1")
                    uow.session.execute(sa.text("SELECT pg_sleep(:w)"), {"w": WORK})
                    uow.commit()

            for n in THREADS:
                old, new = _rate(n, chain), _rate(n, merkle)
                print(
                    f"{n} writer(s): chain with audit_head lock {old:8,.0f} tx/s (baseline)   "
                    f"Merkle append {new:8,.0f} tx/s   ratio {new / old:5.2f}x"
                )
            started = time.perf_counter()
            published = rt.checkpointer.checkpoint()
            seconds = time.perf_counter() - started
            print(
                f"checkpoint of the {published.new_entries:,} entries appended: {seconds:.2f} s "
                f"({published.new_entries / seconds:,.0f} entries/s integrated, signed and witnessed)"
            )
        finally:
            rt.close()


if __name__ == "__main__":
    main()
