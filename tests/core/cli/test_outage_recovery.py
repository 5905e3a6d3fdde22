"""Twenty seconds of cut PostgreSQL connections (pg_terminate_backend, over and over, part of the
time with connections refused outright) while ``govcred serve`` answers residents and a
standalone ``govcred worker`` delivers their SMS codes to a gateway on 127.0.0.1. Neither is
restarted. Clients see 503 with Retry-After, never a 500; afterwards both serve again by
themselves, and every committed message takes effect exactly once at the gateway."""

from __future__ import annotations

import threading
import time

import pytest
import requests
import sqlalchemy as sa

from govcred.core.db import make_engine
from tests.core.outbox_stub import gateway  # noqa: F401 (a fixture)
from tests.core.serving import Process, Server, env_for, govcred, wait_for

OUTAGE_SECONDS = 20.0


class Killer(threading.Thread):
    """Cuts every connection to the database every 0.3 s; refuses new ones for 3 s of every 7."""

    def __init__(self, postgres, name: str):
        super().__init__(daemon=True)
        self.postgres, self.name, self.kills = postgres, name, 0

    def allow(self, allowed: bool) -> None:
        self.postgres.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS {"true" if allowed else "false"}')

    def run(self) -> None:
        started = time.monotonic()
        try:
            while (elapsed := time.monotonic() - started) < OUTAGE_SECONDS:
                self.allow((elapsed % 7.0) < 4.0)
                self.postgres.execute(
                    f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{self.name}'"
                )
                self.kills += 1
                time.sleep(0.3)
        finally:
            self.allow(True)


class Residents(threading.Thread):
    """Asks for sign-in codes, each for a new phone number, and notes every answer."""

    def __init__(self, base: str, stop: threading.Event, first_phone: int):
        super().__init__(daemon=True)
        self.base, self.stop, self.phone = base, stop, first_phone
        self.answers: list[tuple[int, str | None]] = []

    def run(self) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            self.phone += 1
            try:
                r = session.post(self.base + "/api/v1/auth/sms-code", json={"phone": f"1{self.phone:010d}"}, timeout=30)
                self.answers.append((r.status_code, r.headers.get("Retry-After")))
            except requests.RequestException as exc:  # the server must answer, even in an outage
                self.answers.append((0, type(exc).__name__))
            time.sleep(0.05)


@pytest.mark.postgres
@pytest.mark.slow
def test_serve_and_worker_ride_out_twenty_seconds_of_cut_connections(postgres, gateway, tmp_path):
    with postgres.throwaway() as url:
        name = url.rsplit("/", 1)[1]
        env = env_for(
            tmp_path / "var", url, GOVCRED_SMS_BACKEND="http", GOVCRED_SMS_URL=gateway.url, GOVCRED_JOB_POLL_SECONDS="1"
        )
        # every code here comes from one address: lift the per-address and total sign-in-code
        # limits, which would otherwise answer 429 long before the outage is over
        (tmp_path / "var").mkdir(parents=True, exist_ok=True)
        (tmp_path / "var" / "govcred.toml").write_text(
            'login_codes_per_address = "100000/hour"\nlogin_codes_total = "100000/minute"\n', encoding="utf-8"
        )
        assert govcred(env, "init", "--no-demo-accounts").returncode == 0
        # the relay thread is off: every message is the standalone worker's to deliver
        server = Server(env, tmp_path / "serve.log", "--workers", "2", "--no-worker")
        worker = Process(env, ["worker", "--lease-seconds", "5"], tmp_path / "worker.log")
        engine = make_engine(url)
        stop = threading.Event()
        residents = Residents(server.base, stop, first_phone=3_800_000_000)
        try:
            server.wait_ready()
            residents.start()
            wait_for(lambda: sum(1 for s, _ in residents.answers if s == 202) >= 5, 30, "codes before the outage")
            killer = Killer(postgres, name)
            killer.start()
            killer.join(OUTAGE_SECONDS + 30)
            during = len(residents.answers)
            wait_for(
                lambda: sum(1 for s, _ in residents.answers[during:] if s == 202) >= 10, 60, "codes after the outage"
            )
            stop.set()
            residents.join(60)

            statuses = {s for s, _ in residents.answers}
            assert 500 not in statuses and 0 not in statuses, residents.answers
            assert statuses <= {202, 503}, statuses
            assert 503 in statuses  # the outage was seen, as an outage
            assert all(retry == "5" for s, retry in residents.answers if s == 503)

            def undelivered() -> int:
                with engine.connect() as conn:
                    return conn.execute(sa.text("SELECT count(*) FROM outbox WHERE status <> 'delivered'")).scalar()

            wait_for(lambda: undelivered() == 0, 120, "the worker to deliver everything after the outage")
            assert worker.alive() and server.alive()  # nobody restarted them
            with engine.connect() as conn:
                committed = set(conn.execute(sa.text("SELECT id FROM outbox")).scalars())
            assert len(committed) >= sum(1 for s, _ in residents.answers if s == 202)
            history = gateway.check_history(committed)
            assert history["lost"] == set()
            assert history["unexpected"] == set()
            assert history["duplicate_effects"] == {}
            assert "database unavailable" in worker.output()
            assert server.get("/readyz").status_code == 200
        finally:
            stop.set()
            worker.stop()
            server.stop()
            engine.dispose()
    assert "Traceback" not in worker.output(), worker.output()[-3000:]
    assert "Traceback" not in server.output(), server.output()[-3000:]
    print(
        f"{killer.kills} cuts; answers: "
        + ", ".join(f"{s}: {sum(1 for a, _ in residents.answers if a == s)}" for s in sorted(statuses))
    )
