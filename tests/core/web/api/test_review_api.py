"""The review API: the queue by deadline with due-today/overdue flags, concurrent decisions,
idempotent decisions."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from govcred.core.orm import audit_log, credentials, decisions
from govcred.core.web import create_app
from tests.core.web.api_helpers import officer_headers, officer_sign_in, resident_headers, upload_proof, with_key
from tests.core.workflow_helpers import document, import_records, queued_applications
from tests.plugins.zhejiang_residence.zj_fixtures import make_id


@pytest.fixture
def app(runtime):
    return create_app(runtime=runtime)


@pytest.fixture
def client(app):
    return app.test_client()


def _submit(client, headers, **kw):
    att = upload_proof(client, headers).get_json()["id"]
    r = client.post("/api/v1/applications", json=document([att], **kw), headers=with_key(headers))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _sign_in(client, runtime, username: str) -> dict[str, str]:
    """Sign in again through the API (the officer re-enrols a seed: the test kit keeps none)."""
    return officer_sign_in(client, runtime, username)


def test_queue_by_deadline_with_beijing_flags_and_filters(client, runtime, clock):
    alice = resident_headers(client, runtime, "13800138000")
    first = _submit(client, alice)  # Monday 30 Nov: due end of Wed 2 Dec
    assert client.get("/api/v1/review/queue", headers=alice).status_code == 403
    clock.advance(days=1)
    clerk = officer_headers(client, runtime, "clerk", "clerk1")  # bearer tokens live 8 hours
    second = _submit(client, clerk, channel="window", id_number=make_id("19850512", seq="457"))  # due Thu 3 Dec
    clock.advance(days=1)  # Wednesday 2 Dec, 10:00 Beijing
    reviewer = officer_headers(client, runtime, "reviewer", "reviewer1")
    items = client.get("/api/v1/review/queue", headers=reviewer).get_json()["items"]
    assert [i["id"] for i in items] == [first["id"], second["id"]]
    assert items[0]["due_today"] and not items[0]["overdue"] and not items[1]["due_today"]
    assert "document" not in items[0] and items[0]["subject"]["name"] == "张*明"
    clock.advance(days=1)  # Thursday 3 Dec
    reviewer, clerk = (_sign_in(client, runtime, name) for name in ("reviewer1", "clerk1"))
    overdue = client.get("/api/v1/review/queue?due=overdue", headers=reviewer).get_json()["items"]
    assert [i["id"] for i in overdue] == [first["id"]]
    today = client.get("/api/v1/review/queue?due=today", headers=reviewer).get_json()["items"]
    assert [i["id"] for i in today] == [second["id"]]
    window = client.get("/api/v1/review/queue?channel=window", headers=reviewer).get_json()["items"]
    assert [i["id"] for i in window] == [second["id"]]
    bad = client.get("/api/v1/review/queue?due=someday&channel=fax", headers=reviewer)
    assert bad.status_code == 422 and {e["field"] for e in bad.get_json()["errors"]} == {"due", "channel"}
    assert client.get("/api/v1/review/queue", headers=clerk).status_code == 403


def test_two_reviewers_at_once_one_gets_409(app, runtime):
    import_records(runtime)
    client = app.test_client()
    alice = resident_headers(client, runtime, "13800138000")
    submitted = _submit(client, alice)
    heads = [officer_headers(client, runtime, "reviewer", f"reviewer{i}") for i in (1, 2)]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def decide(headers, approve):
        own = app.test_client()
        barrier.wait()
        body = {"approve": approve, "version": submitted["version"], "reasons": [] if approve else ["不予通过"]}
        statuses.append(
            own.post(
                f"/api/v1/applications/{submitted['id']}/decision", json=body, headers=with_key(headers)
            ).status_code
        )

    threads = [
        threading.Thread(target=decide, args=(heads[0], True)),
        threading.Thread(target=decide, args=(heads[1], False)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 409]
    with runtime.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(decisions)).scalar() == 1
        failures = conn.execute(
            sa.select(sa.func.count())
            .select_from(audit_log)
            .where(audit_log.c.action == "application.decide", audit_log.c.outcome == "failure")
        ).scalar()
    assert failures == 1  # the losing attempt is in the audit log


def test_decision_is_idempotent_and_validated(client, runtime):
    import_records(runtime)
    alice = resident_headers(client, runtime, "13800138000")
    submitted = _submit(client, alice)
    reviewer = officer_headers(client, runtime, "reviewer", "reviewer1")
    url = f"/api/v1/applications/{submitted['id']}/decision"
    bad = client.post(
        url, json={"approve": "yes", "reasons": "x", "version": "1", "state": "approved"}, headers=with_key(reviewer)
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.get_json()["errors"]} == {"approve", "reasons", "version", "state"}
    stale = client.post(url, json={"approve": True, "version": submitted["version"] + 5}, headers=with_key(reviewer))
    assert stale.status_code == 409 and stale.get_json()["code"] == "APPLICATION_CHANGED"
    headers = with_key(reviewer)
    first = client.post(url, json={"approve": True}, headers=headers)
    replay = client.post(url, json={"approve": True}, headers=headers)
    assert first.status_code == replay.status_code == 200
    assert replay.get_json() == first.get_json() and replay.headers["Idempotent-Replayed"] == "true"
    with runtime.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(credentials)).scalar() == 1
    again = client.post(url, json={"approve": True}, headers=with_key(reviewer))
    assert again.status_code == 409 and again.get_json()["code"] == "INVALID_STATE"
    assert again.get_json()["title"] == "申请状态为“已批准”，不能批准"  # the state as people read it


def test_same_idempotency_key_from_two_threads_has_one_effect(app, runtime):
    import_records(runtime)
    client = app.test_client()
    alice = resident_headers(client, runtime, "13800138000")
    submitted = _submit(client, alice)
    headers = with_key(officer_headers(client, runtime, "reviewer", "reviewer1"))
    barrier = threading.Barrier(2)
    answers: list = []

    def send():
        own = app.test_client()
        barrier.wait()
        r = own.post(f"/api/v1/applications/{submitted['id']}/decision", json={"approve": True}, headers=headers)
        answers.append((r.status_code, r.get_json()))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(s for s, _ in answers)
    assert statuses in ([200, 200], [200, 409])
    if statuses == [200, 200]:
        assert answers[0][1] == answers[1][1]  # the second saw the stored response
    with runtime.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(credentials)).scalar() == 1


def test_the_queue_is_paged_by_keyset_with_counts(client, runtime, clock):
    import datetime as dt

    now = clock.now()
    # equal deadlines (ties broken by created_at, id), one overdue, a few without a deadline
    queued_applications(runtime, 5, deadlines=lambda i: now + dt.timedelta(days=3 if i % 2 else 1))
    queued_applications(runtime, 1, deadlines=lambda i: now - dt.timedelta(hours=1), channel="window")
    queued_applications(runtime, 3, deadlines=lambda i: None, state="submitted")
    reviewer = officer_headers(client, runtime, "reviewer", "pager")
    url = "/api/v1/review/queue?state=submitted,accepted&limit=2"
    first = client.get(url, headers=reviewer).get_json()
    assert first["counts"] == {
        "by_state": {"accepted": 6, "submitted": 3},
        "by_channel": {"online": 8, "window": 1},
        "by_due": {"overdue": 1, "later": 5, "none": 3},
    }
    seen, page, pages = [], first, 1
    while True:
        assert page["count"] == len(page["items"]) <= 2
        seen.extend(page["items"])
        if page["next"] is None:
            break
        page = client.get(f"{url}&after={page['next']}", headers=reviewer).get_json()
        pages += 1
    assert pages == 5 and len({i["id"] for i in seen}) == 9  # every application once
    keys = [(i["deadline"] is None, i["deadline"] or "", i["created_at"], i["id"]) for i in seen]
    assert keys == sorted(keys)  # earliest deadline first, none last
    assert seen[0]["overdue"] and seen[0]["channel"] == "window"
    overdue = client.get("/api/v1/review/queue?due=overdue", headers=reviewer).get_json()
    assert [i["overdue"] for i in overdue["items"]] == [True] and overdue["next"] is None
    bad = client.get("/api/v1/review/queue?after=not-a-cursor&limit=0", headers=reviewer)
    assert bad.status_code == 422
    assert {e["field"]: e["code"] for e in bad.get_json()["errors"]} == {
        "after": "CURSOR_INVALID",
        "limit": "LIMIT_INVALID",
    }
    assert client.get("/api/v1/review/queue?limit=201", headers=reviewer).status_code == 422
