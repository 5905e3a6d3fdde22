"""Load: residents (sign in by SMS code, upload a proof, submit) and reviewers (queue, decide)
at once against ``govcred serve`` (gunicorn, 4 workers) on 127.0.0.1, on PostgreSQL then
SQLite. Prints requests/s, p50/p99 latency per endpoint and the errors (must be 0), and the
same figures for a constant endpoint (``/healthz``) hit in the same run, the baseline.

Bounded: each database runs ``BENCH_LOAD_SECONDS`` (default 15) with ``BENCH_LOAD_RESIDENTS``
(default 6) resident and ``BENCH_LOAD_REVIEWERS`` (default 2) reviewer threads and one
constant-endpoint thread, all on this machine (the load generator shares its cores with the
server: say so when quoting the figures). Reviewers split the queue by application id, so no
two decide the same application (a 409 race is not what is measured).
"""

from __future__ import annotations

import collections
import io
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pyotp
import requests

from govcred.core.accounts.totp import enrol
from govcred.core.clock import FixedClock
from govcred.testing import T0, PostgresServer, make_runtime, make_settings
from tests.core.serving import Server, env_for, govcred
from tests.core.web.api_helpers import sms_code_sent
from tests.core.workflow_helpers import PASSWORD, document, officer, png_bytes
from tests.plugins.zhejiang_residence.zj_fixtures import make_id

SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "15"))
RESIDENTS = int(os.environ.get("BENCH_LOAD_RESIDENTS", "6"))
REVIEWERS = int(os.environ.get("BENCH_LOAD_REVIEWERS", "2"))
PEOPLE = 3000


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = collections.defaultdict(list)
        self.errors: collections.Counter[str] = collections.Counter()
        self.examples: dict[str, str] = {}

    def call(self, name: str, session: requests.Session, method: str, url: str, ok=(200, 201, 202), **kwargs):
        started = time.perf_counter()
        try:
            response = session.request(method, url, timeout=30, **kwargs)
        except requests.RequestException as exc:
            response, status = None, type(exc).__name__
        else:
            status = response.status_code
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latencies[name].append(elapsed)
            if status not in ok:
                self.errors[name] += 1
                self.examples.setdefault(name, f"{status}: {response.text[:200] if response is not None else ''}")
        return response if status in ok else None


def _people(rt, n: int) -> list[str]:
    import datetime as dt

    from govcred.plugins.zhejiang_residence.configured import configured

    ids = [make_id(f"{1960 + i % 40}{1 + i % 12:02d}{1 + i % 28:02d}", "330102", f"{i % 1000:03d}") for i in range(n)]
    regs = [{"division": "331121", "declared": dt.date(2026, 1, 1), "ended": None}]
    configured(rt.pm).import_people({i: {"registrations": regs, "permits": []} for i in ids}, rt.clock.now())
    return ids


def _resident(base: str, rt, rec: Recorder, stop: threading.Event, people: list[str], lock: threading.Lock) -> None:
    session = requests.Session()
    while not stop.is_set():
        with lock:
            if not people:
                return
            id_number = people.pop()
        phone = f"13{uuid.uuid4().int % 10**9:09d}"
        sent = rec.call("POST /auth/sms-code", session, "POST", base + "/api/v1/auth/sms-code", json={"phone": phone})
        if sent is None:
            continue
        code = _code_for(rt, phone)
        if code is None:
            with rec.lock:
                rec.errors["SMS code queued"] += 1
                rec.examples.setdefault("SMS code queued", "202 answered, no login.code row for the phone within 5 s")
            continue
        token = rec.call(
            "POST /auth/resident-token",
            session,
            "POST",
            base + "/api/v1/auth/resident-token",
            json={"phone": phone, "code": code, "code_id": sent.json()["code_id"]},
        )
        if token is None:
            continue
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        proof = rec.call(
            "POST /attachments",
            session,
            "POST",
            base + "/api/v1/attachments",
            headers=headers,
            files={"file": ("proof.png", io.BytesIO(png_bytes()), "image/png")},
        )
        if proof is None:
            continue
        rec.call(
            "POST /applications",
            session,
            "POST",
            base + "/api/v1/applications",
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            json=document([proof.json()["id"]], id_number=id_number),
        )


def _code_for(rt, phone: str) -> str | None:
    """The code of the SMS queued for ``phone`` (read from the outbox as the SMS worker would)."""
    for _ in range(50):
        try:
            return sms_code_sent(rt, phone)
        except IndexError:  # not visible yet
            time.sleep(0.1)
    return None


def _enrol_totp(rt, username: str) -> pyotp.TOTP:
    """Give the reviewer a TOTP seed, as `govcred officer totp` does: every officer who decides
    signs in with password and TOTP, and a decision needs that factor from the last 10 minutes."""
    with rt.uow() as uow:
        uri = enrol(uow, uow.officers.by_username(username), rt.secrets.cipher)
        uow.commit()
    return pyotp.parse_uri(uri)


def _reviewer(base: str, username: str, totp, share: int, shares: int, rec: Recorder, stop: threading.Event) -> None:
    session = requests.Session()
    # the server runs on the wall clock, so the code is the one of now (not the bench runtime's T0)
    sign_in = {"username": username, "password": PASSWORD, "totp": totp.now()}
    token = rec.call("POST /auth/token", session, "POST", base + "/api/v1/auth/token", json=sign_in)
    if token is None:
        return
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    while not stop.is_set():
        page = rec.call("GET /review/queue", session, "GET", base + "/api/v1/review/queue?limit=50", headers=headers)
        mine = [
            i for i in (page.json()["items"] if page is not None else []) if int(i["id"][-4:], 16) % shares == share
        ]
        if not mine:
            time.sleep(0.2)
            continue
        item = mine[0]
        rec.call(
            "POST /applications/{id}/decision",
            session,
            "POST",
            f"{base}/api/v1/applications/{item['id']}/decision",
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            json={"approve": True, "version": item["version"]},
        )


def _constant(base: str, rec: Recorder, stop: threading.Event) -> None:
    session = requests.Session()
    while not stop.is_set():
        rec.call("GET /healthz (constant)", session, "GET", base + "/healthz")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(label: str, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "var"
        env = env_for(data_dir, database_url)
        # every simulated resident asks for a code from 127.0.0.1: lift the per-address and total
        # code limits (10 an hour, 60 a minute) that would answer 429 to the load, not to an abuser
        data_dir.mkdir(parents=True)
        (data_dir / "govcred.toml").write_text(
            'login_codes_per_address = "1000000/hour"\nlogin_codes_total = "1000000/minute"\n', encoding="utf-8"
        )
        done = govcred(env, "init", "--no-demo-accounts")
        if done.returncode:
            print(f"{label}: init failed: {done.stderr[-500:]}")
            return
        rt = make_runtime(
            make_settings(data_dir, database_url or f"sqlite:///{data_dir / 'govcred.sqlite3'}"), FixedClock(T0)
        )
        # no relay thread: a delivered SMS drops its secrets, and the residents here read their code
        # from the outbox row (the web path is what is measured; bench outbox measures delivery)
        server = Server(env, Path(tmp) / "serve.log", "--workers", "4", "--threads", "4", "--no-worker")
        try:
            people = _people(rt, PEOPLE)
            names = [f"load-reviewer-{i}" for i in range(REVIEWERS)]
            totps = {}
            for name in names:
                officer(rt, "reviewer", name)
                totps[name] = _enrol_totp(rt, name)
            server.wait_ready()
            rec, stop, lock = Recorder(), threading.Event(), threading.Lock()
            threads = [
                threading.Thread(target=_resident, args=(server.base, rt, rec, stop, people, lock), daemon=True)
                for _ in range(RESIDENTS)
            ]
            threads += [
                threading.Thread(
                    target=_reviewer, args=(server.base, name, totps[name], i, REVIEWERS, rec, stop), daemon=True
                )
                for i, name in enumerate(names)
            ]
            threads.append(threading.Thread(target=_constant, args=(server.base, rec, stop), daemon=True))
            started = time.perf_counter()
            for t in threads:
                t.start()
            stop.wait(SECONDS)
            stop.set()
            for t in threads:
                t.join(60)
            elapsed = time.perf_counter() - started
        finally:
            server.stop()
            rt.close()
    total = sum(len(v) for v in rec.latencies.values())
    errors = sum(rec.errors.values())
    print(
        f"{label}: gunicorn 4 workers x 4 threads, {RESIDENTS} residents + {REVIEWERS} reviewers + 1 constant "
        f"client, {elapsed:.0f} s: {total / elapsed:,.0f} requests/s, errors {errors}"
    )
    print(f"  {'endpoint':<36} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name in sorted(rec.latencies, key=lambda n: ("constant" in n, n)):
        values = rec.latencies[name]
        print(
            f"  {name:<36} {len(values):>8} {len(values) / elapsed:>8,.1f} {_percentile(values, 0.5) * 1000:>8.1f} "
            f"{_percentile(values, 0.99) * 1000:>8.1f} {rec.errors[name]:>7}"
        )
    for name, example in rec.examples.items():
        print(f"  first error of {name}: {example}")


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; the load generator runs on them too")
    pg = PostgresServer()
    if pg.available():
        with pg.throwaway("govcred_load") as url:
            run("PostgreSQL", url)
    else:
        print(f"PostgreSQL: no server answers at {pg.address}; skipped")
    run("SQLite", None)


if __name__ == "__main__":
    main()
