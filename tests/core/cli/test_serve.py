"""``govcred serve``: gunicorn with several workers, one server per SQLite data directory,
graceful reload on HUP, probes and metrics, and jobs that run once however many server
processes there are (real processes on 127.0.0.1)."""

from __future__ import annotations

import signal

import pytest
import sqlalchemy as sa

from govcred.core.db import make_engine
from govcred.core.jobs import RELAY, SWEEP, JobPlace, runs_of
from govcred.core.leases import Lease
from tests.core.serving import Server, env_for, govcred, wait_for

METRICS_TOKEN = "scrape-token-for-tests"


def _init(env) -> None:
    done = govcred(env, "init", "--no-demo-accounts")
    assert done.returncode == 0, done.stderr


@pytest.fixture
def sqlite_env(tmp_path):
    env = env_for(tmp_path / "var", GOVCRED_JOB_POLL_SECONDS="1", GOVCRED_METRICS_TOKEN=METRICS_TOKEN)
    _init(env)
    return env


def test_serve_answers_through_gunicorn_with_several_workers(sqlite_env, tmp_path):
    server = Server(sqlite_env, tmp_path / "serve.log", "--workers", "3", "--threads", "2")
    try:
        server.wait_ready()
        assert len(wait_for(lambda: len(server.children()) == 3 and server.children(), 30, "3 workers")) == 3
        assert "gunicorn" in server.output() and "development server" not in server.output()
        auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}

        def healthz_count() -> float:
            text = server.get("/metrics", headers=auth).text
            lines = [
                line
                for line in text.splitlines()
                if line.startswith("govcred_http_requests_total{") and 'endpoint="health.healthz"' in line
            ]
            return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0

        # wait_ready polls /healthz as often as the machine's speed needs: count from here
        before = healthz_count()
        for _ in range(30):
            assert server.get("/healthz").json() == {"status": "ok"}
        ready = server.get("/readyz")
        assert ready.status_code == 200
        assert {c["name"]: c["ok"] for c in ready.json()["checks"]} == {
            "database": True,
            "migrations": True,
            "signing_key": True,
        }
        assert server.get("/metrics").status_code == 401  # administrators and the scraper only
        text = server.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
        assert 'govcred_outbox_depth{status="pending"} 0.0' in text
        assert "govcred_applications_overdue 0.0" in text
        assert "govcred_outbox_dead 0.0" in text
        # multiprocess: the 30 probes are counted whichever worker answered them
        assert healthz_count() - before == 30.0
    finally:
        assert server.stop() == 0


def test_a_second_serve_on_the_same_data_directory_says_who_holds_it(sqlite_env, tmp_path):
    first = Server(sqlite_env, tmp_path / "first.log", "--workers", "1")
    try:
        first.wait_ready()
        second = govcred(sqlite_env, "serve", "--port", "1", timeout=60)
        assert second.returncode == 1
        assert "DATA_DIR_IN_USE" in second.stderr
        assert f"pid {first.pid}" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.stop()
    # once the first has stopped, the directory is free again
    again = Server(sqlite_env, tmp_path / "again.log", "--workers", "1")
    try:
        again.wait_ready()
    finally:
        again.stop()


def test_hup_reloads_the_workers_gracefully(sqlite_env, tmp_path):
    server = Server(sqlite_env, tmp_path / "serve.log", "--workers", "2")
    try:
        server.wait_ready()
        before = wait_for(lambda: len(server.children()) == 2 and server.children(), 30, "2 workers")
        server.signal(signal.SIGHUP)
        wait_for(lambda: len(server.children()) == 2 and not (server.children() & before), 60, "new workers after HUP")
        assert server.alive()
        assert server.get("/healthz").status_code == 200
    finally:
        server.stop()


def test_dev_runs_flasks_development_server(sqlite_env, tmp_path):
    server = Server(sqlite_env, tmp_path / "serve.log", "--dev")
    try:
        server.wait_ready()
        assert server.children() == set()  # one process
        assert "开发服务器" in server.output()
    finally:
        server.stop()


def test_one_gunicorn_of_three_workers_sweeps_once(sqlite_env, tmp_path):
    server = Server(sqlite_env, tmp_path / "serve.log", "--workers", "3")
    data_dir = tmp_path / "var"
    engine = make_engine(f"sqlite:///{data_dir / 'govcred.sqlite3'}")
    place = JobPlace(engine, data_dir, clock=None)
    try:
        server.wait_ready()
        wait_for(lambda: runs_of(place, SWEEP) >= 1, 30, "a sweep")
        _every_worker_polled_a_few_times(server)
        assert runs_of(place, SWEEP) == 1
        # the relay has exactly one leader: its lease is taken
        assert not Lease(engine, data_dir, RELAY).acquire()
    finally:
        server.stop()
        engine.dispose()


@pytest.mark.postgres
def test_three_server_processes_sweep_once_between_them(postgres, tmp_path):
    with postgres.throwaway() as url:
        env = env_for(tmp_path / "var", url, GOVCRED_JOB_POLL_SECONDS="1")
        _init(env)
        servers = [Server(env, tmp_path / f"serve{i}.log", "--workers", "1") for i in range(3)]
        engine = make_engine(url)
        place = JobPlace(engine, tmp_path / "var", clock=None)
        try:
            for server in servers:
                server.wait_ready()
            wait_for(lambda: runs_of(place, SWEEP) >= 1, 30, "a sweep")
            for server in servers:
                _every_worker_polled_a_few_times(server)
            assert runs_of(place, SWEEP) == 1
            with engine.connect() as conn:
                holder = conn.execute(sa.text("SELECT holder FROM job_runs WHERE name = :n"), {"n": SWEEP}).scalar()
            assert holder.rsplit(":", 1)[1] in {str(p) for s in servers for p in s.children()}
            # the command-line sweep takes the same lease: refused while a server holds it
            lease = Lease(engine, tmp_path / "var", SWEEP)
            assert lease.acquire()
            try:
                refused = govcred(env, "lifecycle", "sweep")
                assert refused.returncode == 1
                assert "JOB_RUNNING" in refused.stderr and "PostgreSQL backend pid" in refused.stderr
            finally:
                lease.release()
            assert govcred(env, "lifecycle", "sweep").returncode == 0
            assert runs_of(place, SWEEP) == 2
        finally:
            for server in servers:
                server.stop()
            engine.dispose()


def _every_worker_polled_a_few_times(server: Server) -> None:
    """Poll interval is 1 s: after 4 s every worker of the server has checked the schedule."""
    import time

    time.sleep(4)
    assert server.alive()


def test_serve_warns_when_the_issuer_url_is_not_where_it_listens(sqlite_env, tmp_path):
    default_issuer = dict(sqlite_env, GOVCRED_ISSUER="http://127.0.0.1:8000")
    server = Server(default_issuer, tmp_path / "serve.log", "--dev")  # on a free port, not 8000
    try:
        server.wait_ready()
        assert f"本服务监听 http://127.0.0.1:{server.port}" in server.output()
        assert f"请设置 GOVCRED_ISSUER=http://127.0.0.1:{server.port}" in server.output()
    finally:
        server.stop()
    matching = dict(sqlite_env, GOVCRED_ISSUER=f"http://127.0.0.1:{server.port}")
    again = Server(matching, tmp_path / "serve2.log", "--dev", port=server.port)
    try:
        again.wait_ready()
        assert "GOVCRED_ISSUER" not in again.output()
    finally:
        again.stop()


@pytest.mark.parametrize("option", [("--port", "99999"), ("--port", "0"), ("--workers", "0")])
def test_an_impossible_port_or_worker_count_is_named_before_anything_starts(sqlite_env, option):
    done = govcred(sqlite_env, "serve", *option)
    assert done.returncode == 2
    assert f"Invalid value for '{option[0]}'" in done.stderr and "Traceback" not in done.stderr


def test_a_port_in_use_is_named_before_the_banner(sqlite_env):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = govcred(sqlite_env, "serve", "--port", str(port))
    assert done.returncode == 2
    assert f"无法监听 127.0.0.1:{port}：端口已被占用" in done.stderr
    assert "正在运行" not in done.stdout and "Traceback" not in done.stderr
