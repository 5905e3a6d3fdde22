"""``govcred serve`` on a disk that fills up while it runs: a real full filesystem (a small
tmpfs in a mount namespace of its own, tests/core/full_disk.py), not a simulated error.

Every request still gets an answer (507 where a write needs room, never a 500 or a dropped
connection); no worker dies (prometheus-client's sample files are allocated before they are
written, core/web/metrics_files.py); the background jobs and the outbox relay log one line and
wait; once there is room again, every job runs, every queued SMS is delivered and requests are
counted as before."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import requests

from tests.core.full_disk import fill, in_small_filesystem, inside
from tests.core.serving import GOVCRED, Server, env_for, wait_for

METRICS_TOKEN = "scrape-token-for-full-disk"

#: run in the server's mount namespace: the runs of each job and the outbox rows not delivered
_PROGRESS = """
import json, sys
import sqlalchemy as sa
from govcred.core.db import make_engine
from govcred.core.jobs import ALERTS, PURGE, SWEEP, JobPlace, runs_of
from govcred.core.orm import outbox
engine = make_engine(sys.argv[1])
place = JobPlace(engine, None, clock=None)
with engine.connect() as conn:
    waiting = conn.execute(sa.select(sa.func.count()).where(outbox.c.status != "delivered")).scalar()
print(json.dumps({"runs": [runs_of(place, job) for job in (SWEEP, PURGE, ALERTS)], "undelivered": waiting}))
"""


def test_a_disk_that_fills_up_is_answered_and_nothing_stops_for_good(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    env = env_for(mount / "var", GOVCRED_METRICS_TOKEN=METRICS_TOKEN, GOVCRED_JOB_POLL_SECONDS="1")
    # in the namespace: the tmpfs on `mount`, the data directory initialised on it, then serve
    init_then = ("sh", "-c", '"$0" init --no-demo-accounts >/dev/null && exec "$@"', GOVCRED)
    server = Server(
        env, tmp_path / "serve.log", "--workers", "2", wrapper=in_small_filesystem(mount, "12m", *init_then)
    )
    try:
        server.wait_ready()
        workers = wait_for(lambda: len(server.children()) == 2 and server.children(), 30, "2 workers")
        filler = fill(Path(f"/proc/{server.pid}/root") / str(mount).lstrip("/"))  # the tmpfs as the server sees it

        def progress() -> dict:
            done = inside(server.pid, sys.executable, "-c", _PROGRESS, f"sqlite:///{mount / 'var' / 'govcred.sqlite3'}")
            assert done.returncode == 0, done.stderr
            return json.loads(done.stdout)

        answers = []
        for i in range(40):  # both workers, pages and API, reads and writes
            for method, path, body in (
                ("GET", "/healthz", None),
                ("GET", "/resident/login", None),
                ("POST", "/api/v1/auth/sms-code", {"phone": f"139{i:08d}"}),
                ("GET", "/readyz", None),
            ):
                answer = requests.request(method, server.base + path, json=body, timeout=10)  # never a reset
                answers.append((method, path, answer.status_code))
        assert not [a for a in answers if a[2] >= 500 and a[2] != 507], answers
        assert {s for _m, p, s in answers if p == "/healthz"} == {200}
        assert server.children() == workers, server.output()  # no worker died and was replaced
        output = server.output()
        assert "SIGBUS" not in output and "Traceback" not in output, output

        filler.unlink()  # room again
        sent = requests.post(server.base + "/api/v1/auth/sms-code", json={"phone": "13712345678"}, timeout=10)
        assert sent.status_code == 202, sent.text
        wait_for(lambda: min(progress()["runs"]) >= 1, 60, "every job ran")
        wait_for(lambda: progress()["undelivered"] == 0, 60, "every queued SMS delivered")
        metrics = server.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert metrics.status_code == 200
        assert 'endpoint="resident_login.sms_code",method="POST",status="202"' in metrics.text
    finally:
        server.stop()
    assert "Traceback" not in server.output(), server.output()
