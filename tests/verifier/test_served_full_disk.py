"""`govcred verifier serve` on a disk that fills up while it runs (a small tmpfs in a mount
namespace of its own, tests/core/full_disk.py): every request is still answered -- valid, or
refused with 507 where a count or a log row needs room, never a 500, a dropped connection or a
dead worker -- and once there is room again it verifies, counts and logs as before."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from govcred.core.clock import utcnow
from govcred.core.presentation import issue_presentation
from govcred.core.services.credential_status import change_status
from govcred.testing import signed_in
from govcred.verifier.ratelimits import WINDOW_SECONDS
from tests.core.credential_rows import make_credential
from tests.core.full_disk import fill, in_small_filesystem, inside, python_in_small_filesystem
from tests.core.serving import GOVCRED, Process, env_for, wait_for
from tests.verifier.issuers import publish
from tests.verifier.served import call, free_port
from tests.verifier.test_check import REVIEWER
from tests.verifier.test_served import trust_file

#: run in the server's mount namespace: the verification log's rows, valid and not
_LOGGED = """
import json, sys
import sqlalchemy as sa
engine = sa.create_engine(sys.argv[1])
with engine.connect() as conn:
    rows = conn.execute(sa.text("SELECT valid, count(*) FROM verification_log GROUP BY valid")).all()
print(json.dumps({str(bool(valid)).lower(): n for valid, n in rows}))
"""


def test_a_verifier_whose_disk_fills_up_answers_and_logs_every_verification_it_answered(sqlite_runtime, tmp_path):
    rt = sqlite_runtime
    rt.clock.set(utcnow())  # the served verifier runs on the real clock
    cred, doomed = make_credential(rt), make_credential(rt)
    trust = trust_file(tmp_path, publish(rt, tmp_path / "trust"))  # the files lie outside the small disk
    mount, key_file, port = tmp_path / "disk", tmp_path / "api-key", free_port()
    mount.mkdir()
    data = mount / "var"
    # in the namespace: the tmpfs on `mount`, an institution registered on it, then serve. A busy
    # institution's limit: its workers hold reserved slots, so some verifications need no write
    add = f'"$0" verifier-client add 青田县人民医院 --rate 100000 > "{key_file}"'
    add_then = ("sh", "-c", f'{add} && exec "$@"', GOVCRED)
    server = Process(
        env_for(data),
        ["verifier", "serve", "--port", str(port), "--trust", str(trust), "--workers", "2", "--refresh-seconds", "5"],
        tmp_path / "verifier.log",
        wrapper=in_small_filesystem(mount, "12m", *add_then),
    )
    answers = []  # every (status, valid, code or reasons) the verifier gave

    def verify(token: str, reasons: list[str] | None = None):
        """The answer when it is a 200 (with ``reasons``, when given); recorded in any case."""
        status, body = call(port, "/api/v1/verify", {"token": token}, key)  # never a reset
        answers.append((status, body.get("valid"), body.get("code") or body.get("reasons")))
        return body if status == 200 and reasons in (None, body["reasons"]) else None

    try:
        wait_for(lambda: _ready(port, server), 90, "the verifier to be ready")
        key = key_file.read_text().strip().splitlines()[-1]
        workers = wait_for(lambda: len(server.children()) == 2 and server.children(), 30, "2 workers")
        # slots are reserved in a limits window: one that ends while the disk is full leaves
        # nothing to answer from, so the full disk starts with at least half a window to go
        wait_for(lambda: time.time() % WINDOW_SECONDS < WINDOW_SECONDS / 2, WINDOW_SECONDS, "a fresh limits window")
        for _ in range(4):  # a worker that answered twice holds slots
            assert verify(cred.token, [])["valid"] is True
        filler = fill(Path(f"/proc/{server.pid}/root") / str(mount).lstrip("/"))  # the tmpfs as the server sees it

        # the issuer revokes one while the disk is full: the refresh still takes the new list in
        # (only its copy for the next start cannot be kept), so the revocation is seen
        change_status(rt.collaborators, doomed.id, "revoked", reason="核查", principal=signed_in(REVIEWER, rt.clock))
        publish(rt, tmp_path / "trust")
        wait_for(lambda: verify(doomed.token, ["REVOKED"]), 30, "the revocation seen", interval=1)
        for _ in range(60):  # stored credentials and presentations (each needs its replay entry)
            for token in (cred.token, issue_presentation(rt.collaborators, cred)):
                verify(token)
        assert {status for status, _v, _c in answers} <= {200, 507}, answers
        assert all(code == "STORAGE_FULL" for status, _v, code in answers if status == 507), answers
        assert any(status == 200 for status, _v, _c in answers[4:]), answers  # answered from reserved slots
        assert call(port, "/healthz")[0] == 200
        assert server.children() == workers, server.output()  # no worker died and was replaced
        output = server.output()
        assert "SIGBUS" not in output and "Traceback" not in output, output

        filler.unlink()  # room again
        for token in (cred.token, issue_presentation(rt.collaborators, cred)):
            assert wait_for(lambda t=token: verify(t, []), 30, "a verification once there is room")["valid"] is True
        answered = sum(1 for status, _v, _c in answers if status == 200)

        def logged() -> dict:
            done = inside(
                server.pid, sys.executable, "-c", _LOGGED, f"sqlite:///{data / 'verifier' / 'verifier.sqlite3'}"
            )
            assert done.returncode == 0, done.stderr
            return json.loads(done.stdout)

        # every verification that was answered is in the log, none twice
        wait_for(lambda: sum(logged().values()) == answered, 30, f"{answered} rows in the verification log")
    finally:
        server.stop()
    assert "Traceback" not in server.output(), server.output()


def _ready(port: int, server: Process) -> bool:
    if not server.alive():
        raise AssertionError(server.output())
    try:
        status, body = call(port, "/healthz")
    except OSError:
        return False
    return status == 200 and bool(body.get("ready"))


#: a recorder on a small disk that is full when it stops, with a row it cannot write
_STOPPED_FULL = """
import datetime as dt, logging, sys
from pathlib import Path

from govcred.verifier.db import RequestRecorder, create_tables, make_verifier_engine
from tests.core.full_disk import fill

logging.basicConfig(level=logging.WARNING, format="%(message)s")
root = Path(sys.argv[1])
engine = make_verifier_engine(f"sqlite:///{root / 'verifier.sqlite3'}")
create_tables(engine)
recorder = RequestRecorder(engine)
fill(root)
for _ in range(3):
    recorder.record(client_id="c", at=dt.datetime.now(dt.UTC), credential_id="x", kind="credential", valid=True, reasons=[])
recorder.stop()
print("stopped")
"""


def test_a_verifier_stopped_on_a_full_disk_says_in_one_line_what_the_log_lacks(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    done = python_in_small_filesystem(mount, "1m", _STOPPED_FULL)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["stopped"]
    assert "Traceback" not in done.stderr, done.stderr
    assert "verification log: 3 row(s) not written before stopping: disk full" in done.stderr, done.stderr
