"""`govcred worker` as a real process, killed with SIGKILL mid-batch and restarted (R-09, R-11).

The test channel reaches the subprocess the way any plugin does: a throwaway distribution
(a module plus a ``*.dist-info`` with an ``entry_points.txt`` in the ``govcred`` group) on
``PYTHONPATH``. The SMS and push plugins are blocked so only the relay is under test.
"""

from __future__ import annotations

import collections
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from govcred.core.clock import Clock
from govcred.core.orm import outbox as outbox_table
from govcred.testing import make_runtime, make_settings
from tests.core.outbox_stub import (  # noqa: F401 (gateway is a fixture)
    StubGateway,
    gateway,
    install_channel_distribution,
    seed_messages,
    start_worker,
    worker_env,
)

LEASE = "2"


@pytest.fixture
def channel_distribution(tmp_path) -> Path:
    return install_channel_distribution(tmp_path / "site")


class Workers:
    """Starts ``govcred worker`` processes against one database and stub."""

    def __init__(self, data_dir: Path, database_url: str, gateway: StubGateway, site: Path):
        self.env = worker_env(site, data_dir, database_url, gateway.url)
        self.killed: set[int] = set()

    def start(self, *args: str) -> subprocess.Popen:
        return start_worker(self.env, "--lease-seconds", LEASE, *args)

    def kill(self, process: subprocess.Popen) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        self.killed.add(process.pid)

    def drain(self) -> str:
        """After the dead workers' leases ran out: one clean run to the end."""
        time.sleep(float(LEASE) + 0.2)
        done = self.start("--drain", "--batch", "20")
        out, err = done.communicate(timeout=60)
        assert done.returncode == 0, err
        return out


def seed(data_dir: Path, database_url: str, aggregates: int, per_aggregate: int) -> list[str]:
    rt = make_runtime(make_settings(data_dir, database_url), Clock())
    try:
        return seed_messages(rt, aggregates, per_aggregate)
    finally:
        rt.close()


def outbox_rows(database_url: str, data_dir: Path) -> dict[str, sa.Row]:
    rt = make_runtime(make_settings(data_dir, database_url), Clock())
    try:
        with rt.engine.connect() as conn:
            return {r.id: r for r in conn.execute(sa.select(outbox_table))}
    finally:
        rt.close()


def connected_workers(database_url: str) -> int:
    """Other sessions on the database: each polling worker keeps one."""
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"), poolclass=NullPool)
    with engine.connect() as conn:
        count = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    engine.dispose()
    return count


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the workers")
        time.sleep(0.02)


def slow_then_kill_at(gateway: StubGateway, effects_at: list[int]):
    """A responder: every request takes 3 ms; when the effect count reaches each mark, the
    stub takes the effect and SIGKILLs the sender before answering."""
    marks = collections.deque(sorted(effects_at))
    lock = threading.Lock()

    def responder(key, body):
        with lock:
            if marks and len(gateway.effects) >= marks[0] and key not in gateway.effects:
                marks.popleft()
                return ("kill_sender",)
        time.sleep(0.003)
        return ("ok",)

    return responder


def assert_nothing_lost_or_doubled(gateway: StubGateway, ids: list[str], rows: dict, killed: set[int]) -> None:
    history = gateway.check_history(set(ids))
    assert history["lost"] == set() and history["unexpected"] == set() and history["duplicate_effects"] == {}
    assert {r.status for r in rows.values()} == {"delivered"}
    # a second send of an id only ever follows a worker that was killed holding it
    for key in history["transport_duplicates"]:
        senders = [int(r.worker_pid) for r in gateway.requests_for(key)]
        assert all(pid in killed for pid in senders[:-1]), (key, senders, killed)
    # order per aggregate held across the crashes
    seqs: dict[str, list[int]] = collections.defaultdict(list)
    for key in gateway.effect_order:
        body = gateway.requests_for(key)[0].body
        seqs[body["aggregate_id"]].append(body["seq"])
    assert all(s == sorted(s) for s in seqs.values())


def test_sqlite_worker_killed_mid_batch_resumes_without_loss_or_double_effect(
    tmp_path, data_dir, sqlite_url, gateway, channel_distribution
):
    ids = seed(data_dir, sqlite_url, aggregates=60, per_aggregate=4)
    workers = Workers(data_dir, sqlite_url, gateway, channel_distribution)
    gateway.responder = slow_then_kill_at(gateway, [30, 90])
    for mark in (30, 90):  # the stub kills each worker after taking the effect of a message
        process = workers.start("--batch", "20")
        wait_for(lambda process=process: process.poll() is not None)
        assert process.returncode == -signal.SIGKILL
        workers.killed.add(process.pid)
        assert len(gateway.effects) == mark + 1
    process = workers.start("--batch", "20")  # a third one killed from outside, at a random point
    wait_for(lambda: len(gateway.effects) >= 150)
    workers.kill(process)
    gateway.responder = None
    summary = workers.drain()
    assert "已投递" in summary

    rows = outbox_rows(sqlite_url, data_dir)
    assert_nothing_lost_or_doubled(gateway, ids, rows, workers.killed | gateway.killed_pids)
    # the two messages whose sender died after the effect were sent again with the same id
    assert len(gateway.check_history(set(ids))["transport_duplicates"]) >= 2
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_three_postgresql_workers_race_and_one_is_killed(data_dir, database_url, gateway, channel_distribution):
    batch = 10
    workers = Workers(data_dir, database_url, gateway, channel_distribution)
    gateway.responder = lambda key, body: (time.sleep(0.002), ("ok",))[1]
    racers = [workers.start("--batch", str(batch), "--max-seconds", "60") for _ in range(3)]
    first_three = [p.pid for p in racers]
    wait_for(lambda: connected_workers(database_url) >= 3)  # all polling before there is work: a fair race
    ids = seed(data_dir, database_url, aggregates=150, per_aggregate=4)
    wait_for(lambda: len(gateway.effects) >= 200)
    workers.kill(racers[0])
    racers[0] = workers.start("--batch", str(batch), "--drain")  # the restarted one
    wait_for(lambda: len(gateway.effects) >= len(ids), timeout=40)
    for process in racers[1:]:
        process.send_signal(signal.SIGTERM)  # graceful: finish the message in hand, release the rest
    for process in racers:
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "已投递" in out  # the summary, printed after a graceful stop too
    gateway.responder = None
    workers.drain()

    rows = outbox_rows(database_url, data_dir)
    assert_nothing_lost_or_doubled(gateway, ids, rows, workers.killed)
    assert set(first_three) <= {int(r.worker_pid) for r in gateway.requests}  # they really raced
    # no id was held by two live workers: each id went out from at most one live process
    for key in ids:
        live = {int(r.worker_pid) for r in gateway.requests_for(key)} - workers.killed
        assert len(live) <= 1, (key, live)
    # claims per id (attempts) above one come only from the killed worker's last batch
    extra_claims = sum(r.attempts - 1 for r in rows.values())
    assert 0 <= extra_claims <= batch * len(workers.killed)
