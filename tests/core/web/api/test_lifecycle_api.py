"""The permit API: the holder's view and endorsement, window refusals with dates, refusals with
every finding, reminder choices, replacement, and cancellation by reviewers only."""

from __future__ import annotations

import pytest

from govcred.core.web import create_app
from tests.core.permits import beijing, issue_permit
from tests.core.web.api_helpers import officer_headers, resident_headers, with_key

PHONE = "13800138000"


@pytest.fixture
def client(runtime):
    return create_app(runtime=runtime).test_client()


def test_holder_sees_endorses_and_chooses_reminders(client, runtime, clock):
    clock.set(beijing(2026, 3, 1))
    permit = issue_permit(runtime, owner_phone=PHONE)
    url = f"/api/v1/permits/{permit.permit_no}"

    clock.set(beijing(2027, 1, 20))
    holder = resident_headers(client, runtime, PHONE)
    view = client.get(url, headers=holder).get_json()
    assert view["status"] == "valid" and view["endorsement_window"]["start"] == "2027-02-01"
    assert view["endorsement_window"]["open"] is False and view["reminders"] == ["endorsement_due"]
    other = resident_headers(client, runtime, "13900139000")
    assert client.get(url, headers=other).status_code == 404

    early = client.post(f"{url}/endorsement", json={}, headers=with_key(holder))
    assert early.status_code == 409
    problem = early.get_json()
    assert problem["code"] == "OUTSIDE_ENDORSEMENT_WINDOW"
    assert problem["window"] == {"start": "2027-02-01", "end": "2027-02-28"}
    assert "2027年2月1日至2027年2月28日" in problem["title"]

    bad = client.put(f"{url}/reminders", json={"reminders": ["week_before", "hourly"]}, headers=holder)
    assert bad.status_code == 422 and [e["field"] for e in bad.get_json()["errors"]] == ["reminders[1]"]
    chosen = client.put(f"{url}/reminders", json={"reminders": ["week_before", "endorsement_due"]}, headers=holder)
    assert chosen.status_code == 200 and chosen.get_json()["reminders"] == ["endorsement_due", "week_before"]

    clock.set(beijing(2027, 2, 3))
    holder = resident_headers(client, runtime, PHONE)
    done = client.post(f"{url}/endorsement", json={}, headers=with_key(holder))
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert [(v["version"], v["status"]) for v in body["history"]] == [(2, "valid"), (1, "superseded")]
    assert body["endorsement_window"]["start"] == "2028-02-01"


def test_refusal_lists_every_finding(client, runtime, clock):
    clock.set(beijing(2026, 3, 1))
    permit = issue_permit(runtime, owner_phone=PHONE)
    clock.set(beijing(2027, 2, 10))
    holder = resident_headers(client, runtime, PHONE)
    gone = [
        {
            "kind": "employment",
            "proof": "labor_contract",
            "employer": "青田某贸易有限公司",
            "employer_uscc": "91331121MA2H111104",
            "division": "331121",
            "since": "2025-01-01",
            "until": "2027-01-31",
            "attachments": ["att-1"],
        }
    ]
    refused = client.post(
        f"/api/v1/permits/{permit.permit_no}/endorsement", json={"conditions": gone}, headers=with_key(holder)
    )
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["code"] == "ENDORSEMENT_REFUSED"
    assert {"NO_QUALIFYING_CONDITION", "CONDITION_NOT_CURRENT"} <= {f["code"] for f in body["findings"]}


def test_replacement_and_cancellation(client, runtime, clock):
    clock.set(beijing(2026, 3, 1))
    permit = issue_permit(runtime, owner_phone=PHONE)
    clock.set(beijing(2026, 5, 1))
    clerk = officer_headers(client, runtime, "clerk", "clerk1")
    reviewer = officer_headers(client, runtime, "reviewer", "reviewer1")
    replaced = client.post(
        f"/api/v1/permits/{permit.permit_no}/replacement", json={"reason": "damaged"}, headers=with_key(clerk)
    )
    assert replaced.status_code == 201, replaced.get_json()
    new_no = replaced.get_json()["permit_no"]
    assert new_no != permit.permit_no
    assert client.get(f"/api/v1/permits/{permit.permit_no}", headers=clerk).get_json()["status"] == "replaced"

    denied = client.post(
        f"/api/v1/permits/{new_no}/cancellation", json={"reason": "left_county"}, headers=with_key(clerk)
    )
    assert denied.status_code == 403
    invalid = client.post(
        f"/api/v1/permits/{new_no}/cancellation", json={"reason": "bored"}, headers=with_key(reviewer)
    )
    assert invalid.status_code == 422
    cancelled = client.post(
        f"/api/v1/permits/{new_no}/cancellation", json={"reason": "left_county"}, headers=with_key(reviewer)
    )
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["endorsement_window"] is None


@pytest.mark.parametrize("reason", [[], {}, ["damaged"]])
def test_a_reason_that_is_not_text_is_a_422_naming_it(client, runtime, clock, reason):
    clock.set(beijing(2026, 3, 1))
    permit = issue_permit(runtime, owner_phone=PHONE)
    clerk = officer_headers(client, runtime, "clerk", "clerk1")
    reviewer = officer_headers(client, runtime, "reviewer", "reviewer1")
    for action, who in (("replacement", clerk), ("cancellation", reviewer)):
        r = client.post(f"/api/v1/permits/{permit.permit_no}/{action}", json={"reason": reason}, headers=with_key(who))
        assert r.status_code == 422, (action, r.get_json())
        assert [(e["field"], e["code"]) for e in r.get_json()["errors"]] == [("reason", "REASON_INVALID")]


def test_openapi_describes_the_permit_routes(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {
        "/api/v1/permits",
        "/api/v1/permits/{permit_no}",
        "/api/v1/permits/{permit_no}/endorsement",
        "/api/v1/permits/{permit_no}/replacement",
        "/api/v1/permits/{permit_no}/cancellation",
        "/api/v1/permits/{permit_no}/reminders",
    } <= set(paths)


def test_officer_queue_of_open_windows_and_suspensions(client, runtime, clock):
    from govcred.core.services.sweep import run_sweep

    clock.set(beijing(2026, 3, 1))
    lapsing = issue_permit(runtime, owner_phone=PHONE)
    clock.set(beijing(2026, 3, 20))
    later = issue_permit(runtime, owner_phone="13900139000")
    clock.set(beijing(2027, 3, 5))  # the first lapsed; the second's window is open
    run_sweep(runtime.collaborators)
    clerk = officer_headers(client, runtime, "clerk", "clerk2")
    open_now = client.get("/api/v1/permits?queue=window_open", headers=clerk).get_json()["permits"]
    assert [(p["permit_no"], p["endorsement_window"]["start"]) for p in open_now] == [(later.permit_no, "2027-02-20")]
    assert open_now[0]["name_masked"] == "张*明"
    suspended = client.get("/api/v1/permits?queue=suspended", headers=clerk).get_json()["permits"]
    assert [p["permit_no"] for p in suspended] == [lapsing.permit_no]
    assert client.get("/api/v1/permits?queue=everything", headers=clerk).status_code == 422
    holder = resident_headers(client, runtime, PHONE)
    assert client.get("/api/v1/permits", headers=holder).status_code == 403
