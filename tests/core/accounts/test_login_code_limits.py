"""SMS sign-in codes under concurrency, through the running app over HTTP with real threads,
on SQLite and PostgreSQL: guesses and sends are counted by atomic statements, each limit
answers 429 with Retry-After, and nobody else's request spoils a holder's live code."""

from __future__ import annotations

import threading

import pytest
import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

from govcred.core.orm import login_codes, outbox
from govcred.core.web import create_app
from govcred.testing import make_runtime
from tests.core.web.api_helpers import sms_code_sent


class Served:
    """The issuer app on a real HTTP server on 127.0.0.1 (threaded, like production workers)."""

    def __init__(self, rt):
        self.server = make_server("127.0.0.1", 0, create_app(runtime=rt), threaded=True)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def post(self, path, body):
        return requests.post(self.base + path, json=body, timeout=60)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def served(settings, clock):
    rt = make_runtime(settings.with_overrides(login_codes_per_address="7/hour"), clock)
    rt.keystore.ensure_key()
    server = Served(rt)
    yield rt, server
    server.close()
    rt.close()


def at_once(n, call):
    """``call(i)`` from ``n`` threads released together; the answers in order of ``i``."""
    barrier = threading.Barrier(n)
    answers = [None] * n

    def run(i):
        barrier.wait()
        answers[i] = call(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def sms_rows(rt) -> int:
    with rt.engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.event_type == "login.code")
        ).scalar_one()


def test_thirty_concurrent_wrong_guesses_leave_the_code_unusable_after_five(served):
    rt, server = served
    phone = "13800138001"
    code_id = server.post("/api/v1/auth/sms-code", {"phone": phone}).json()["code_id"]
    right = sms_code_sent(rt, phone)
    wrong = "000000" if right != "000000" else "111111"
    answers = at_once(
        30, lambda i: server.post("/api/v1/auth/resident-token", {"phone": phone, "code": wrong, "code_id": code_id})
    )
    assert [a.status_code for a in answers] == [401] * 30
    with rt.engine.connect() as conn:
        assert conn.execute(sa.select(login_codes.c.attempts).where(login_codes.c.id == code_id)).scalar_one() == 5
    late = server.post("/api/v1/auth/resident-token", {"phone": phone, "code": right, "code_id": code_id})
    assert late.status_code == 401 and late.json()["code"] == "LOGIN_FAILED"


def test_thirty_numbers_from_one_address_get_at_most_the_address_limit(served):
    rt, server = served
    answers = at_once(30, lambda i: server.post("/api/v1/auth/sms-code", {"phone": f"1390000{i:04d}"}))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [202] * 7 + [429] * 23  # login_codes_per_address = "7/hour"
    refused = [a for a in answers if a.status_code == 429]
    assert {a.json()["code"] for a in refused} == {"SMS_ADDRESS_RATE_LIMITED"}
    assert all(a.headers["Content-Type"] == "application/problem+json" for a in refused)
    assert {a.headers["Retry-After"] for a in refused} == {"3600"}
    assert sms_rows(rt) == 7


def test_twenty_concurrent_requests_for_one_number_get_at_most_the_number_limit(served):
    rt, server = served
    answers = at_once(20, lambda i: server.post("/api/v1/auth/sms-code", {"phone": "13800138002"}))
    assert sorted(a.status_code for a in answers) == [202] * 5 + [429] * 15
    assert {a.json()["code"] for a in answers if a.status_code == 429} == {"SMS_RATE_LIMITED"}
    assert sms_rows(rt) == 5


def test_the_total_limit_per_minute_answers_429_with_retry_after(settings, clock):
    rt = make_runtime(settings.with_overrides(login_codes_total="3/minute"), clock)
    server = Served(rt)
    try:
        answers = [server.post("/api/v1/auth/sms-code", {"phone": f"1370000{i:04d}"}) for i in range(4)]
        assert [a.status_code for a in answers] == [202, 202, 202, 429]
        assert answers[-1].json()["code"] == "SMS_BUSY" and answers[-1].headers["Retry-After"] == "60"
        clock.advance(seconds=61)  # the window is over
        assert server.post("/api/v1/auth/sms-code", {"phone": "13700009999"}).status_code == 202
    finally:
        server.close()
        rt.close()


def test_requests_and_guesses_by_others_never_spoil_the_holders_live_code(served):
    rt, server = served
    phone = "13800138003"
    holder = server.post("/api/v1/auth/sms-code", {"phone": phone}).json()["code_id"]
    holders_code = sms_code_sent(rt, phone)
    for _ in range(4):  # someone else asks for codes to the same number and guesses at them
        theirs = server.post("/api/v1/auth/sms-code", {"phone": phone}).json()["code_id"]
        for guess in ("000000", "111111", "222222", "333333", "444444"):
            server.post("/api/v1/auth/resident-token", {"phone": phone, "code": guess, "code_id": theirs})
        # ... and at the holder's, without its id
        server.post("/api/v1/auth/resident-token", {"phone": phone, "code": "555555", "code_id": "guessed"})
    signed_in = server.post("/api/v1/auth/resident-token", {"phone": phone, "code": holders_code, "code_id": holder})
    assert signed_in.status_code == 200 and signed_in.json()["access_token"]


def test_two_right_guesses_at_once_sign_in_once(served):
    rt, server = served
    phone = "13800138004"
    code_id = server.post("/api/v1/auth/sms-code", {"phone": phone}).json()["code_id"]
    code = sms_code_sent(rt, phone)
    answers = at_once(
        8, lambda i: server.post("/api/v1/auth/resident-token", {"phone": phone, "code": code, "code_id": code_id})
    )
    assert sorted(a.status_code for a in answers) == [200] + [401] * 7
