"""Outbox delivery: committed messages/s through real ``govcred worker`` processes to a stub
gateway on 127.0.0.1 (core/worker.py, the relay of DESIGN.md "Delivery").

Target (DESIGN.md): ≥ 500 messages/s, none lost, none doubled; aim ≥ 2,000/s with several
workers on PostgreSQL. Each delivery is a claim (batched), one HTTP POST through
``core.http_delivery.send`` with the row id as Idempotency-Key, and the outcome row update
(committed in groups). Printed alongside, measured in the same run: the stub's raw request
rate from a plain client loop making the same request, so the ratio is the relay's
overhead, and the relay alone with a channel that does nothing.
"None lost, none doubled" is checked from the stub's per-key counts and the table.

The rate is taken between the first and the last effect at the stub, so process start-up
is not counted. On a shared machine the wall-clock rate moves with the load far more than
the CPU spent per delivery (worker processes, start-up subtracted, and the stub), so that is
printed too, next to the raw client's CPU per request.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from govcred.core.clock import Clock
from govcred.core.db import make_engine
from govcred.core.migrate import upgrade
from govcred.core.orm import outbox as outbox_table
from govcred.core.outbox import OutboxMessage
from govcred.core.worker import run_worker
from govcred.testing import PostgresServer, make_pm, make_runtime, make_settings
from tests.core.outbox_stub import (
    ChannelPlugin,
    HttpChannel,
    StubGateway,
    install_channel_distribution,
    seed_messages,
    start_worker,
    worker_env,
)

MUST, AIM = 500, 2_000
RAW_SECONDS = 2.0


def raw_rate(gateway: StubGateway) -> tuple[float, float]:
    """Requests/s and client CPU seconds per request (this thread only; the stub's threads
    are not counted) of one plain loop posting the same message shape through the same handler."""
    channel = HttpChannel(gateway.url)
    created = dt.datetime.now(dt.UTC)
    n, started, cpu_before = 0, time.perf_counter(), time.thread_time()
    while time.perf_counter() - started < RAW_SECONDS:
        channel(
            OutboxMessage(
                id=f"raw-{n}",
                channel="test_http",
                event_type="credential.e1",
                aggregate_type="credential",
                aggregate_id=f"raw{n}",
                aggregate_seq=1,
                payload={"seq": 1},
                attempts=1,
                created_at=created,
                secrets={"phone": "13800138000"},
            )
        )
        n += 1
    return n / (time.perf_counter() - started), (time.thread_time() - cpu_before) / n


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def startup_cpu_seconds(site: Path, data_dir: Path, database_url: str) -> float:
    """CPU of a ``govcred worker --drain`` that finds nothing to do (imports, plugins, connect)."""
    before = _cpu(resource.RUSAGE_CHILDREN)
    p = start_worker(worker_env(site, data_dir, database_url, "http://127.0.0.1:9/unused"), "--drain")
    p.communicate(timeout=60)
    return _cpu(resource.RUSAGE_CHILDREN) - before


def relay_rate(
    label: str,
    data_dir: Path,
    database_url: str,
    site: Path,
    *,
    workers: int,
    aggregates: int,
    per_aggregate: int,
    worker_args: tuple[str, ...],
    raw: float,
    raw_cpu: float,
) -> None:
    startup_cpu = startup_cpu_seconds(site, data_dir, database_url)
    rt = make_runtime(make_settings(data_dir, database_url), Clock())
    try:
        ids = seed_messages(rt, aggregates, per_aggregate)
    finally:
        rt.close()
    with StubGateway() as gateway:
        env = worker_env(site, data_dir, database_url, gateway.url)
        children_before, self_before = _cpu(resource.RUSAGE_CHILDREN), _cpu(resource.RUSAGE_SELF)
        processes = [start_worker(env, "--drain", "--json", *worker_args) for _ in range(workers)]
        for p in processes:
            _, err = p.communicate(timeout=120)
            if p.returncode != 0:
                raise SystemExit(f"worker failed ({label}):\n{err}")
        worker_cpu = _cpu(resource.RUSAGE_CHILDREN) - children_before - workers * startup_cpu
        stub_cpu = _cpu(resource.RUSAGE_SELF) - self_before
        history = gateway.check_history(set(ids))
        times = gateway.answered_ok_times()
    engine = make_engine(database_url, poolclass=NullPool)
    with engine.connect() as conn:
        undelivered = conn.execute(
            sa.select(sa.func.count()).select_from(outbox_table).where(outbox_table.c.status != "delivered")
        ).scalar()
    engine.dispose()
    rate = (len(times) - 1) / (times[-1] - times[0])
    ok = not (history["lost"] or history["unexpected"] or history["duplicate_effects"] or undelivered)
    verdict = (
        "none lost, none doubled"
        if ok
        else (
            f"FAILED: lost {len(history['lost'])}, unexpected {len(history['unexpected'])}, "
            f"doubled {len(history['duplicate_effects'])}, undelivered rows {undelivered}"
        )
    )
    print(
        f"{label}: {len(ids)} messages, {rate:,.0f} deliveries/s = {rate / raw:.2f}x raw "
        f"(target >= {MUST:,}, aim >= {AIM:,}); {verdict}; "
        f"transport repeats {len(history['transport_duplicates'])}"
    )
    per_delivery = worker_cpu / len(ids)
    print(
        f"    CPU per delivery: worker {per_delivery * 1e6:,.0f} us = {per_delivery / raw_cpu:.2f}x the raw "
        f"client's {raw_cpu * 1e6:,.0f} us per request (start-up excluded; stub {stub_cpu / len(ids) * 1e6:,.0f} us)"
        f" -> {1 / per_delivery:,.0f} deliveries per worker CPU-second"
    )


def _sqlite_database(data_dir: Path) -> tuple[Path, str]:
    """A fresh data directory with a migrated SQLite database; returns it and the URL."""
    data_dir.mkdir()
    url = f"sqlite:///{data_dir / 'govcred.sqlite3'}"
    engine = make_engine(url, poolclass=NullPool)
    upgrade(engine, make_pm())
    engine.dispose()
    return data_dir, url


def relay_alone(workdir: Path) -> None:
    """The relay's own cost: claim, decrypt, record, with a channel that does nothing (SQLite,
    in this process, one thread)."""
    data_dir, url = _sqlite_database(workdir / "noop")
    rt = make_runtime(
        make_settings(data_dir, url),
        Clock(),
        extra_plugins=[(ChannelPlugin(lambda message: {"ok": True}), "noop_channel")],
    )
    try:
        ids = seed_messages(rt, 1000, 2)
        wall, cpu = time.perf_counter(), time.thread_time()
        stats = run_worker(rt.relay, drain=True, batch=100)
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    finally:
        rt.close()
    assert stats.delivered == len(ids), stats
    print(
        f"relay alone (no-op channel, SQLite, one thread): {len(ids) / wall:,.0f} deliveries/s, "
        f"{cpu / len(ids) * 1e6:,.0f} us CPU per delivery"
    )


def _sqlite(site: Path, raw: float, raw_cpu: float, workdir: Path) -> None:
    data_dir, url = _sqlite_database(workdir / "sqlite")
    relay_rate(
        "SQLite, 1 worker, batch 100, 4 in flight",
        data_dir,
        url,
        site,
        workers=1,
        aggregates=600,
        per_aggregate=3,
        worker_args=("--batch", "100", "--concurrency", "4"),
        raw=raw,
        raw_cpu=raw_cpu,
    )


def _postgresql(site: Path, raw: float, raw_cpu: float, workdir: Path, workers: int) -> None:
    with PostgresServer().throwaway("govcred_bench") as url:
        engine = make_engine(url, poolclass=NullPool)
        upgrade(engine, make_pm())
        engine.dispose()
        data_dir = workdir / f"pg{workers}"
        data_dir.mkdir()
        relay_rate(
            f"PostgreSQL, {workers} workers, batch 50, 4 in flight each",
            data_dir,
            url,
            site,
            workers=workers,
            aggregates=1000,
            per_aggregate=3,
            worker_args=("--batch", "50", "--concurrency", "4"),
            raw=raw,
            raw_cpu=raw_cpu,
        )


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
    try:
        site = install_channel_distribution(workdir / "site")
        with StubGateway() as gateway:
            raw, raw_cpu = raw_rate(gateway)
        print(
            f"baseline: stub gateway, plain client loop (same request, one connection): {raw:,.0f} requests/s, "
            f"client CPU {raw_cpu * 1e6:,.0f} us per request"
        )
        relay_alone(workdir)
        _sqlite(site, raw, raw_cpu, workdir)
        if PostgresServer().available():
            _postgresql(site, raw, raw_cpu, workdir, workers=4)
        else:
            print("PostgreSQL: no server on 127.0.0.1:5432, skipped")
        print(f"(2 CPUs here: {os.cpu_count()} reported; stub, workers and database share them)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
