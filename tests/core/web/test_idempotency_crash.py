"""kill -9 (of every process of the server) against a real ``govcred serve`` while residents submit with Idempotency-Keys.

Clients do what a well-behaved client does: send, and on a dropped connection, a 5xx or a
409 IDEMPOTENCY_IN_FLIGHT (after its Retry-After) send again with the SAME key and body. The
server is killed without warning at random moments, again and again, then left running.
Every logical request must end answered 201 with one application id (no key stuck in
flight), and the database must hold exactly one application per logical request (no
duplicate from a retry), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import requests
import sqlalchemy as sa

from govcred.core.accounts.officers import issue_resident_token
from govcred.core.clock import Clock
from govcred.core.orm import applications, idempotency_keys
from govcred.testing import TEST_ENV, make_runtime, make_settings
from tests.core.workflow_helpers import document
from tests.plugins.zhejiang_residence.zj_fixtures import make_id

KILLS = 12
MAX_REQUESTS = 400
CLIENTS = 6
LEASE_SECONDS = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, data_dir: Path, env: dict[str, str]):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.command = [
            str(Path(sys.executable).with_name("govcred")),
            "--data-dir",
            str(data_dir),
            "serve",
            "--port",
            str(self.port),
            "--workers",
            "2",
        ]
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        # a session of its own, so that the kill takes the gunicorn master and its workers
        # at once, as a power cut would
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.stderr.read()
            try:
                if requests.get(f"{self.base}/.well-known/jwks.json", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise AssertionError("govcred serve did not start")

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process.stderr.close()


def _residents(rt, count: int) -> list[str]:
    tokens = []
    with rt.uow() as uow:
        for n in range(count):
            resident = uow.residents.get_or_create(f"1390000{n:04d}", rt.clock.now())
            uow.flush()
            tokens.append(issue_resident_token(uow, resident, rt.clock.now())[0])
        uow.commit()
    return tokens


class Clients:
    """Residents submitting new applications until told to stop, each retried to its answer."""

    def __init__(self, base: str, tokens: list[str]):
        self.base = base
        self.tokens = tokens
        self.sent: dict[str, str] = {}  # key -> the ID number of its document
        self.answers: dict[str, set[str]] = {}
        self.replayed = self.in_flight = self.dropped = 0
        self.no_new_work = threading.Event()
        self.give_up = threading.Event()
        self._lock = threading.Lock()
        self._n = 0
        self.threads = [threading.Thread(target=self._run, args=(t,), daemon=True) for t in tokens]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _next(self) -> tuple[str, dict] | None:
        with self._lock:
            if self.no_new_work.is_set() or self._n >= MAX_REQUESTS:
                return None
            self._n += 1
            id_number = make_id("19900307", seq=f"{self._n:03d}")
            key = str(uuid.uuid4())
            self.sent[key] = id_number
        return key, document([], id_number=id_number)

    def _run(self, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with requests.Session() as http:
            while (job := self._next()) is not None:
                self._submit(http, headers, *job)

    def _submit(self, http, headers: dict, key: str, doc: dict) -> None:
        while not self.give_up.is_set():
            try:
                r = http.post(
                    f"{self.base}/api/v1/applications",
                    json=doc,
                    headers={**headers, "Idempotency-Key": key},
                    timeout=10,
                )
            except requests.RequestException:  # the server died under us, or is starting again
                self.dropped += 1
                time.sleep(0.05)
                continue
            if r.status_code == 409 and r.json()["code"] == "IDEMPOTENCY_IN_FLIGHT":
                self.in_flight += 1
                time.sleep(min(float(r.headers.get("Retry-After", 1)), LEASE_SECONDS) / 4)
                continue
            if r.status_code >= 500:
                time.sleep(0.05)
                continue
            assert r.status_code == 201, r.text
            self.replayed += r.headers.get("Idempotent-Replayed") == "true"
            self.answers.setdefault(key, set()).add(r.json()["id"])
            return


def test_kill_loop_leaves_no_stuck_key_and_no_duplicate(data_dir, database_url, govcred_plugins):
    settings = make_settings(data_dir, database_url)
    rt = make_runtime(settings, Clock(), plugins=govcred_plugins)  # the server's clock is real too
    rt.keystore.ensure_key()
    tokens = _residents(rt, CLIENTS)
    env = {
        **os.environ,
        **TEST_ENV,
        "GOVCRED_DATABASE_URL": database_url,
        "GOVCRED_IDEMPOTENCY_LEASE_SECONDS": str(LEASE_SECONDS),
        "GOVCRED_WORKER_IN_SERVE": "false",
    }
    server = Server(data_dir, env)
    server.start()
    clients = Clients(server.base, tokens)
    clients.start()
    chance = random.Random(14)
    try:
        for _kill in range(KILLS):
            time.sleep(chance.uniform(0.05, 0.5))
            server.kill()
            server.start()
        clients.no_new_work.set()
        deadline = time.monotonic() + 120
        for thread in clients.threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        stuck = [k for k in clients.sent if k not in clients.answers]
        assert not stuck, f"keys never answered: {stuck}"
    finally:
        clients.give_up.set()
        server.kill()

    # what the loop went through (pytest -s shows it)
    print(
        f"{len(clients.sent)} requests, {KILLS} kills, {clients.dropped} dropped connections, "
        f"{clients.in_flight} in-flight answers, {clients.replayed} replays"
    )
    assert clients.dropped > 0
    assert all(len(ids) == 1 for ids in clients.answers.values()), "a key answered with two applications"
    with rt.engine.connect() as conn:
        stored = dict(conn.execute(sa.select(applications.c.id, applications.c.subject_index)).all())
        states = conn.execute(sa.select(idempotency_keys.c.state)).scalars().all()
    answered = {next(iter(ids)) for ids in clients.answers.values()}
    assert answered == set(stored), "a retry created a second application, or an answer names none"
    assert len(set(stored.values())) == len(clients.sent)  # one application per ID number
    assert states == ["done"] * len(clients.sent)
    rt.close()
