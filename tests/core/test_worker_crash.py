"""`govcred worker` as a real process, killed with SIGKILL mid-batch and restarted (R-09, R-11).

The test channel reaches the subprocess the way any plugin does: a throwaway distribution
(a module plus a ``*.dist-info`` with an ``entry_points.txt`` in the ``govcred`` group) on
``PYTHONPATH``. The SMS and push plugins are blocked so only the relay is under test.
"""
from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.clock import Clock
from core.orm import outbox as outbox_table
from tests.conftest import TEST_ENV, make_runtime, make_settings
from tests.core.outbox_stub import StubGateway, gateway  # noqa: F401 (gateway is a fixture)

REPO = Path(__file__).resolve().parents[2]
LEASE = "2"


@pytest.fixture
def channel_distribution(tmp_path) -> Path:
    """A directory that, on ``sys.path``, installs the ``test_http`` channel plugin."""
    site = tmp_path / "site"
    dist_info = site / "govcred_outbox_test_channel-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (site / "outbox_test_channel.py").write_text(
        "from tests.core.outbox_stub import plugin_from_env\nplugin = plugin_from_env()\n", encoding="utf-8")
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: govcred-outbox-test-channel\nVersion: 1.0\n", encoding="utf-8")
    (dist_info / "entry_points.txt").write_text(
        "[govcred]\noutbox_test_channel = outbox_test_channel:plugin\n", encoding="utf-8")
    return site


class Workers:
    """Starts ``govcred worker`` processes against one database and stub."""

    def __init__(self, data_dir: Path, database_url: str, gateway: StubGateway, site: Path):
        self.env = {
            **os.environ, **TEST_ENV,
            "GOVCRED_DATA_DIR": str(data_dir), "GOVCRED_DATABASE_URL": database_url,
            "GOVCRED_DISABLE_PLUGINS": "sms_gateway,provincial_push",
            "OUTBOX_STUB_URL": gateway.url, "OUTBOX_STUB_READ_TIMEOUT": "5",
            "PYTHONPATH": os.pathsep.join([str(site), str(REPO), os.environ.get("PYTHONPATH", "")]),
        }
        self.killed: set[int] = set()

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", "from core.cli import main; main()", "worker", "--lease-seconds", LEASE, *args],
            env=self.env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

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
        with rt.uow() as uow:
            ids = [uow.outbox.add("test_http", f"credential.e{seq}", {"seq": seq}, aggregate_type="credential",
                                  aggregate_id=f"c{a:04d}", secret={"phone": "13800138000"})
                   for a in range(aggregates) for seq in range(1, per_aggregate + 1)]
            uow.commit()
        return ids
    finally:
        rt.close()


def outbox_rows(database_url: str, data_dir: Path) -> dict[str, sa.Row]:
    rt = make_runtime(make_settings(data_dir, database_url), Clock())
    try:
        with rt.engine.connect() as conn:
            return {r.id: r for r in conn.execute(sa.select(outbox_table))}
    finally:
        rt.close()


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
        tmp_path, data_dir, sqlite_url, gateway, channel_distribution):
    ids = seed(data_dir, sqlite_url, aggregates=60, per_aggregate=4)
    workers = Workers(data_dir, sqlite_url, gateway, channel_distribution)
    gateway.responder = slow_then_kill_at(gateway, [30, 90])
    for mark in (30, 90):  # the stub kills each worker after taking the effect of a message
        process = workers.start("--batch", "20")
        wait_for(lambda: process.poll() is not None)
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
    ids = seed(data_dir, database_url, aggregates=150, per_aggregate=4)
    workers = Workers(data_dir, database_url, gateway, channel_distribution)
    gateway.responder = lambda key, body: (time.sleep(0.002), ("ok",))[1]
    racers = [workers.start("--batch", str(batch), "--max-seconds", "40") for _ in range(3)]
    wait_for(lambda: len(gateway.effects) >= 200)
    workers.kill(racers[0])
    racers[0] = workers.start("--batch", str(batch), "--drain")  # the restarted one
    wait_for(lambda: len(gateway.effects) >= len(ids), timeout=40)
    for process in racers[1:]:
        process.send_signal(signal.SIGTERM)  # graceful: finish the message in hand, release the rest
    for process in racers:
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
    gateway.responder = None
    workers.drain()

    rows = outbox_rows(database_url, data_dir)
    assert_nothing_lost_or_doubled(gateway, ids, rows, workers.killed)
    live_senders = {int(r.worker_pid) for r in gateway.requests} - workers.killed
    assert len(live_senders) >= 3  # they really raced
    # no id was held by two live workers: each id went out from at most one live process
    for key in ids:
        live = {int(r.worker_pid) for r in gateway.requests_for(key)} - workers.killed
        assert len(live) <= 1, (key, live)
    # claims per id (attempts) above one come only from the killed worker's last batch
    extra_claims = sum(r.attempts - 1 for r in rows.values())
    assert 0 <= extra_claims <= batch * len(workers.killed)
